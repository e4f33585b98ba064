/* kpi-etl
materialized = "daily"
strategy = "replace"
partitions = """
SELECT dt FROM fact_queue_call__changed UNION SELECT dt FROM fact_queue_call__previous
UNION SELECT dt FROM fact_conversation__changed UNION SELECT dt FROM fact_conversation__previous
"""
description = """Contact-centre KPIs per local day, channel and queue. Voice: every ENTERQUEUE is one offered
call on the local date of its timestamp, its outcome the first terminal event after it
(fact_queue_call): answered (wait = holdtime), abandoned (wait = waittime), unanswered_other
(timeout, empty queue, exit with key, or no terminal event); its channel the DID channel of its
CDR call. WhatsApp: every conversation with an inbound message is one offered contact, channel
whatsapp, queue of its first agent reply ((unassigned) when none), answered when an agent replied
at or after its first inbound message, else abandoned; wait = first inbound to first reply.
answered_within_sl counts answered contacts with wait <= the channel group's threshold
([service_level] in nightly.toml: 20 s voice, 300 s WhatsApp by default); service_level =
answered_within_sl / offered; avg_wait_answered_s (ASA) = wait_answered_s / answered; talk_s and
avg_talk_s are for voice only (NULL for WhatsApp)."""
tests = [
    { unique = ["dt", "channel", "queue"] },
    { name = "offered = answered + abandoned + unanswered_other", sql = "SELECT * FROM this WHERE offered <> answered + abandoned + unanswered_other" },
]
*/
WITH contacts AS (
    SELECT dt, channel, COALESCE(queue_name, 'unknown') AS queue, 'voice' AS channel_group,
           outcome, wait_s, talk_s
    FROM fact_queue_call
    WHERE dt IN (SELECT dt FROM __partitions)
    UNION ALL
    SELECT c.dt, 'whatsapp', COALESCE(q.queue_name, '(unassigned)'), 'messaging',
           CASE WHEN c.answered THEN 'answered' ELSE 'abandoned' END,
           c.wait_s, CAST(NULL AS BIGINT)
    FROM fact_conversation AS c
    LEFT JOIN dim_queue AS q ON q.queue_key = c.queue_key AND c.queue_key <> -1
    WHERE c.dt IN (SELECT dt FROM __partitions) AND c.inbound_messages > 0
),
totals AS (
    SELECT
        c.dt,
        c.channel,
        c.queue,
        MIN(c.channel_group) AS channel_group,
        CAST(COUNT(*) AS BIGINT) AS offered,
        CAST(SUM(CASE WHEN outcome = 'answered' THEN 1 ELSE 0 END) AS BIGINT) AS answered,
        CAST(SUM(CASE WHEN outcome = 'abandoned' THEN 1 ELSE 0 END) AS BIGINT) AS abandoned,
        CAST(SUM(CASE WHEN outcome NOT IN ('answered', 'abandoned') THEN 1 ELSE 0 END) AS BIGINT) AS unanswered_other,
        CAST(SUM(CASE WHEN outcome = 'answered' AND wait_s <= s.threshold_s THEN 1 ELSE 0 END) AS BIGINT) AS answered_within_sl,
        CAST(COALESCE(SUM(CASE WHEN outcome = 'answered' THEN wait_s END), 0) AS BIGINT) AS wait_answered_s,
        CAST(SUM(CASE WHEN outcome = 'answered' THEN talk_s END) AS BIGINT) AS talk_s
    FROM contacts AS c
    JOIN pipeline_service_levels AS s ON s.channel_group = c.channel_group
    GROUP BY c.dt, c.channel, c.queue
)
SELECT
    channel,
    queue,
    offered,
    answered,
    abandoned,
    unanswered_other,
    answered_within_sl,
    CASE WHEN offered = 0 THEN NULL ELSE CAST(answered_within_sl AS DOUBLE) / CAST(offered AS DOUBLE) END AS service_level,
    wait_answered_s,
    CASE WHEN answered = 0 THEN NULL ELSE CAST(wait_answered_s AS DOUBLE) / CAST(answered AS DOUBLE) END AS avg_wait_answered_s,
    CASE WHEN channel_group = 'voice' THEN COALESCE(talk_s, 0) END AS talk_s,
    CASE WHEN channel_group = 'voice' AND answered > 0 THEN CAST(COALESCE(talk_s, 0) AS DOUBLE) / CAST(answered AS DOUBLE) END AS avg_talk_s,
    dt
FROM totals
