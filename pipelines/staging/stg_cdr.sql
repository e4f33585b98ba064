/* kpi-etl
materialized = "daily"
unique_key = ["uniqueid", "sequence"]
latest_by = "landed_on, source_file, source_line"
description = """One row per Asterisk CDR row (a dial attempt, transfer leg or bridge change), deduplicated
on (uniqueid, sequence), the first landed copy kept. Times are UTC; dt is the local date of the
row's start. External numbers appear only as keyed hashes; the business DID in E.164; free
text that may carry a number (lastdata, userfield, account codes) is masked."""
tests = [
    { reconcile = "raw_cdr" },
    { unique = ["uniqueid", "sequence"] },
    { not_null = ["call_id", "started_at", "ended_at"] },
    { accepted_values = { column = "context_direction", values = ["inbound", "outbound", "other"] } },
    { name = "no negative duration", sql = "SELECT * FROM this WHERE duration_s < 0 OR billsec_s < 0 OR billsec_s > duration_s", severity = "warn" },
]
*/
-- Local wall-clock start -> UTC: the uniqueid's epoch settles the repeated autumn hour.
-- answer and end are derived from start and the elapsed seconds Asterisk measured
-- (duration = end - start, billsec = end - answer), which stay right across a DST change.
WITH typed AS (
    SELECT
        c.*,
        local_to_utc(c."start", c.uniqueid_epoch) AS started_at,
        COALESCE(ctx.direction, 'other') AS context_direction,
        regexp_match(c.src, '^[0-9]{2,6}$')[1] AS src_extension,
        regexp_match(c.dst, '^[0-9]{2,6}$')[1] AS dst_extension
    FROM raw_cdr AS c
    LEFT JOIN pipeline_contexts AS ctx ON ctx.dcontext = c.dcontext
)
SELECT
    linkedid AS call_id,
    uniqueid,
    COALESCE("sequence", 0) AS "sequence",
    uniqueid = linkedid AS is_primary,
    started_at,
    CASE WHEN answer IS NULL THEN NULL ELSE add_seconds(started_at, duration - billsec) END AS answered_at,
    add_seconds(started_at, duration) AS ended_at,
    duration AS duration_s,
    billsec AS billsec_s,
    dcontext,
    context_direction,
    src_extension,
    CASE WHEN src_extension IS NULL THEN pii_hash(phone_e164(src)) END AS src_phone_hash,
    CASE WHEN src_extension IS NULL THEN phone_type(src) END AS src_phone_type,
    dst_extension,
    CASE WHEN dst_extension IS NULL THEN pii_hash(phone_e164(dst)) END AS dst_phone_hash,
    CASE WHEN dst_extension IS NULL THEN phone_type(dst) END AS dst_phone_type,
    CASE WHEN context_direction = 'inbound' THEN phone_e164(dst) END AS did_e164,
    CASE WHEN context_direction = 'inbound' THEN voice_channel(dst) END AS did_channel,
    channel,
    regexp_match(channel, '^[A-Za-z0-9_]+/([0-9]{2,6})-[0-9a-fA-F]+$')[1] AS channel_extension,
    dstchannel,
    regexp_match(dstchannel, '^[A-Za-z0-9_]+/([0-9]{2,6})-[0-9a-fA-F]+$')[1] AS dstchannel_extension,
    lastapp,
    mask_pii(lastdata) AS lastdata,
    CASE WHEN lastapp = 'Queue' THEN split_part(lastdata, ',', 1) END AS queue_name,
    disposition,
    amaflags,
    mask_pii(accountcode) AS accountcode,
    mask_pii(userfield) AS userfield,
    mask_pii(peeraccount) AS peeraccount,
    source_file,
    source_line,
    landed_on,
    local_date(started_at) AS dt
FROM typed
