{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['kode_wilayah', 'bulan'],
    )
}}
-- One row per complaint ticket, no personal data. Incremental by slice: a regency's new
-- or corrected month replaces that regency-month only; history is not rebuilt.

with aduan as (
    select * from {{ ref('stg_aduan') }}
    {% if is_incremental() %}
    where (kode_wilayah, bulan) in (
        select distinct kode_wilayah, bulan from {{ ref('stg_aduan') }}
        where ingested_at > (select coalesce(max(ingested_at), '1900-01-01') from {{ this }})
    )
    {% endif %}
),

kategori as (
    select * from {{ ref('kategori_aduan') }}
),

final as (
    select
        aduan.nomor_tiket,
        aduan.kode_wilayah,
        aduan.kode_kecamatan,
        aduan.kode_desa_kelurahan,
        aduan.kanal,
        aduan.kategori,
        kategori.kelas_layanan,
        kategori.batas_hari,
        aduan.status,
        aduan.diterima_pada,
        aduan.diselesaikan_pada,
        aduan.bulan,
        case when aduan.status = 'selesai'
            then date_diff('minute', aduan.diterima_pada, aduan.diselesaikan_pada) / 1440.0
        end as hari_penyelesaian,
        aduan.batch_id,
        aduan.ingested_at,
        -- when this slice was (re)built: untouched slices keep their old time
        current_timestamp as built_at
    from aduan
    left join kategori
        on aduan.kategori = lower(kategori.kategori)
)

select * from final
