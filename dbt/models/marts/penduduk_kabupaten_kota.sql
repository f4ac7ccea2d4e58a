with penduduk as (
    select * from {{ ref('stg_penduduk') }}
),

kabupaten_kota as (
    select * from {{ ref('dim_wilayah') }}
    where tingkat = 'kabupaten_kota'
),

final as (
    select
        penduduk.kode_wilayah,
        kabupaten_kota.nama_wilayah,
        penduduk.periode,
        penduduk.laki_laki,
        penduduk.perempuan,
        penduduk.jumlah_penduduk,
        kabupaten_kota.luas_km2,
        round(penduduk.jumlah_penduduk / kabupaten_kota.luas_km2, 2) as kepadatan_per_km2
    from penduduk
    left join kabupaten_kota
        on penduduk.kode_wilayah = kabupaten_kota.kode_wilayah
)

select * from final
order by periode, kode_wilayah
