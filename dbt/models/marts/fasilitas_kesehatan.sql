with fasilitas as (
    select * from {{ ref('stg_fasilitas_kesehatan') }}
),

wilayah as (
    select * from {{ ref('dim_wilayah') }}
),

final as (
    select
        fasilitas.kode_fasilitas,
        fasilitas.nama_fasilitas,
        fasilitas.jenis_fasilitas,
        fasilitas.kode_wilayah,
        kabupaten_kota.nama_wilayah,
        fasilitas.kode_kecamatan,
        kecamatan.nama_wilayah as nama_kecamatan,
        fasilitas.alamat,
        fasilitas.lintang,
        fasilitas.bujur
    from fasilitas
    left join wilayah as kabupaten_kota
        on fasilitas.kode_wilayah = kabupaten_kota.kode_wilayah
    left join wilayah as kecamatan
        on fasilitas.kode_kecamatan = kecamatan.kode_wilayah
)

select * from final
order by kode_wilayah, kode_fasilitas
