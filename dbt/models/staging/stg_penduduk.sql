with source as (
    select * from {{ source('raw', 'penduduk') }}
),

renamed as (
    select
        ----------  region and period
        kode_wilayah,
        periode,
        ----------  counts
        laki_laki,
        perempuan,
        jumlah_penduduk,
        ----------  lineage
        _batch_id as batch_id,
        _feed_id as feed_id,
        _source_sha256 as source_sha256,
        _ingested_at as ingested_at
    from source
)

select * from renamed
