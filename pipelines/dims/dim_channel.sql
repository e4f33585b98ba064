/* kpi-etl
materialized = "table"
strategy = "replace"
description = """One row per interaction channel: the voice channel of the DID a customer dialled,
voice_outbound for calls we placed, whatsapp, and unknown (key -1) when a record has no
interaction."""
tests = [
    { unique = ["channel"] },
]
*/
SELECT CAST(channel_key AS BIGINT) AS channel_key, channel, channel_group
FROM (VALUES
    (-1, 'unknown', 'none'),
    (1, 'voice_geographic', 'voice'),
    (2, 'voice_mobile', 'voice'),
    (3, 'voice_tollfree', 'voice'),
    (4, 'voice_shared_cost', 'voice'),
    (5, 'voice_premium', 'voice'),
    (6, 'voice_other', 'voice'),
    (7, 'voice_outbound', 'voice'),
    (8, 'whatsapp', 'messaging')
) AS c(channel_key, channel, channel_group)
