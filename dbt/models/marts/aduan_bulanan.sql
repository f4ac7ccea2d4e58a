with aduan as (
    select * from {{ ref('fct_aduan') }}
),

wilayah as (
    select * from {{ ref('dim_wilayah') }}
    where tingkat = 'kabupaten_kota'
),

penduduk as (
    select * from {{ ref('int_penduduk__terbaru') }}
),

per_bulan as (
    select
        kode_wilayah,
        bulan,
        kategori,
        count(*) as jumlah_diterima,
        count(*) filter (where status = 'selesai') as jumlah_selesai,
        count(*) filter (where status = 'proses') as jumlah_proses,
        count(*) filter (where status = 'menunggu') as jumlah_menunggu,
        median(hari_penyelesaian) as median_hari_penyelesaian,
        count(*) filter (where status = 'selesai' and hari_penyelesaian <= batas_hari)
            as jumlah_selesai_tepat_waktu
    from aduan
    group by kode_wilayah, bulan, kategori
),

final as (
    select
        per_bulan.kode_wilayah,
        wilayah.nama_wilayah,
        strftime(per_bulan.bulan, '%Y-%m') as bulan,
        per_bulan.kategori,
        per_bulan.jumlah_diterima,
        per_bulan.jumlah_selesai,
        per_bulan.jumlah_proses,
        per_bulan.jumlah_menunggu,
        round(per_bulan.median_hari_penyelesaian, 2) as median_hari_penyelesaian,
        round(100.0 * per_bulan.jumlah_selesai_tepat_waktu
              / nullif(per_bulan.jumlah_selesai, 0), 2) as persen_selesai_tepat_waktu,
        round(10000.0 * per_bulan.jumlah_diterima / penduduk.jumlah_penduduk, 4)
            as aduan_per_10000_penduduk
    from per_bulan
    left join wilayah
        on per_bulan.kode_wilayah = wilayah.kode_wilayah
    left join penduduk
        on per_bulan.kode_wilayah = penduduk.kode_wilayah
)

select * from final
order by bulan, kode_wilayah, kategori
