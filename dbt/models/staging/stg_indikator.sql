with source as (
    select * from {{ source('raw', 'indikator') }}
),

renamed as (
    select
        ----------  region, indicator, year
        kode_wilayah,
        indikator,
        tahun,
        ----------  value
        nilai,
        satuan,
        coalesce(sumber, 'Tidak disebutkan oleh pengirim') as sumber,
        ----------  lineage
        _batch_id as batch_id,
        _feed_id as feed_id,
        _source_sha256 as source_sha256,
        _ingested_at as ingested_at
    from source
)

select * from renamed
