with kabupaten_kota as (
    select * from {{ source('reference', 'wilayah_kabupaten_kota') }}
),

kecamatan as (
    select * from {{ source('reference', 'wilayah_kecamatan') }}
),

desa_kelurahan as (
    select * from {{ source('reference', 'wilayah_desa_kelurahan') }}
),

provinsi as (
    select
        '36' as kode_wilayah,
        'Provinsi Banten' as nama_wilayah,
        'provinsi' as tingkat,
        'provinsi' as jenis,
        cast(null as varchar) as kode_induk,
        cast(null as varchar) as kode_kabupaten_kota,
        round(sum(cast(luas_km2 as double)), 3) as luas_km2
    from kabupaten_kota
),

kabupaten_kota_rows as (
    select
        kode_wilayah,
        nama as nama_wilayah,
        'kabupaten_kota' as tingkat,
        jenis,
        '36' as kode_induk,
        kode_wilayah as kode_kabupaten_kota,
        cast(luas_km2 as double) as luas_km2
    from kabupaten_kota
),

kecamatan_rows as (
    select
        kode_wilayah,
        nama as nama_wilayah,
        'kecamatan' as tingkat,
        'kecamatan' as jenis,
        kode_kabupaten_kota as kode_induk,
        kode_kabupaten_kota,
        cast(null as double) as luas_km2
    from kecamatan
),

desa_kelurahan_rows as (
    select
        kode_wilayah,
        nama as nama_wilayah,
        'desa_kelurahan' as tingkat,
        jenis,
        kode_kecamatan as kode_induk,
        kode_kabupaten_kota,
        cast(null as double) as luas_km2
    from desa_kelurahan
),

final as (
    select * from provinsi
    union all
    select * from kabupaten_kota_rows
    union all
    select * from kecamatan_rows
    union all
    select * from desa_kelurahan_rows
)

select * from final
