with fasilitas as (
    select * from {{ ref('fasilitas_kesehatan') }}
),

wilayah as (
    select * from {{ ref('dim_wilayah') }}
    where tingkat = 'kabupaten_kota'
),

penduduk as (
    select * from {{ ref('int_penduduk__terbaru') }}
),

per_jenis as (
    select kode_wilayah, jenis_fasilitas, count(*) as jumlah_fasilitas
    from fasilitas
    group by kode_wilayah, jenis_fasilitas
),

final as (
    select
        per_jenis.kode_wilayah,
        wilayah.nama_wilayah,
        per_jenis.jenis_fasilitas,
        per_jenis.jumlah_fasilitas,
        penduduk.jumlah_penduduk,
        round(100000.0 * per_jenis.jumlah_fasilitas / penduduk.jumlah_penduduk, 2)
            as fasilitas_per_100000_penduduk
    from per_jenis
    left join wilayah
        on per_jenis.kode_wilayah = wilayah.kode_wilayah
    left join penduduk
        on per_jenis.kode_wilayah = penduduk.kode_wilayah
)

select * from final
order by kode_wilayah, jenis_fasilitas
