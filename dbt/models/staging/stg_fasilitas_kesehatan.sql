with source as (
    select * from {{ source('raw', 'fasilitas_kesehatan') }}
),

renamed as (
    select
        ----------  ids
        kode_fasilitas,
        _regency as kode_wilayah,
        kode_kecamatan,
        ----------  facility
        nama_fasilitas,
        lower(trim(jenis_fasilitas)) as jenis_fasilitas,
        alamat,
        ----------  location (WGS84)
        lintang,
        bujur,
        ----------  lineage
        _batch_id as batch_id,
        _ingested_at as ingested_at
    from source
)

select * from renamed
