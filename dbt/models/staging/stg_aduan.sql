-- Personal data (reporter's name, NIK, phone, e-mail) stops here: no column of it is
-- selected, so nothing downstream can publish it.
with source as (
    select * from {{ source('raw', 'aduan') }}
),

renamed as (
    select
        ----------  ids
        nomor_tiket,
        _regency as kode_wilayah,
        kode_kecamatan,
        kode_desa_kelurahan,
        ----------  what and how
        lower(trim(kanal)) as kanal,
        trim(kategori) as kategori,
        lower(trim(status)) as status,
        ----------  when
        diterima_pada,
        diselesaikan_pada,
        cast(date_trunc('month', diterima_pada) as date) as bulan,
        ----------  lineage
        _batch_id as batch_id,
        _ingested_at as ingested_at
    from source
)

select * from renamed
