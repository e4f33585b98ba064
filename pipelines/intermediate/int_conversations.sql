/* kpi-etl
materialized = "daily"
strategy = "replace"
partitions = """
WITH changed AS (
    SELECT customer_phone_hash, business_number, sent_at AS message_at, dt FROM stg_whatsapp_messages__changed
    UNION ALL
    SELECT customer_phone_hash, business_number, status_at, dt FROM stg_whatsapp_statuses__changed WHERE status = 'sent'
)
SELECT dt FROM changed
UNION SELECT CAST(dt - INTERVAL '1 day' AS DATE) FROM changed
UNION SELECT CAST(dt - INTERVAL '2 days' AS DATE) FROM changed
-- A conversation can last many days (every gap under 24 hours): rebuild the day of every
-- published conversation a changed message continues, joins to another, or absorbs.
UNION SELECT t.dt FROM this AS t
JOIN changed AS c
    ON c.customer_phone_hash = t.customer_phone_hash AND c.business_number = t.business_number
WHERE t.started_at <= c.message_at + INTERVAL '1 day'
  AND t.last_message_at >= c.message_at - INTERVAL '1 day'
"""
description = """One row per WhatsApp conversation, derived as raw-contract.md says: for one customer on one
business line, a conversation starts with a message when no message in either direction was
exchanged in the previous 24 hours (a gap of 24 hours or more starts a new one) and holds every
message until such a silence. Inbound messages count once each; outbound messages once, at
their `sent` status. Answered when an agent-sent message follows the first inbound message;
wait is the time to that first agent reply, whose agent and queue are the conversation's.
conversation_id is the id of its first message; dt is the local date of that message. A night
rebuilds the days its messages touch, the two days before, and the start day of every published
conversation one of its messages falls within 24 hours of."""
tests = [
    { unique = ["conversation_id"] },
]
*/
WITH bounds AS (
    SELECT CAST(MIN(dt) - INTERVAL '1 day' AS DATE) AS lo FROM __partitions
),
messages AS (
    SELECT customer_phone_hash, business_number, sent_at AS message_at, message_id,
           'inbound' AS direction, CAST(NULL AS VARCHAR) AS agent_extension, CAST(NULL AS VARCHAR) AS queue_name
    FROM stg_whatsapp_messages
    WHERE dt >= (SELECT lo FROM bounds)
    UNION ALL
    SELECT customer_phone_hash, business_number, status_at, message_id,
           'outbound', agent_extension, queue_name
    FROM stg_whatsapp_statuses
    WHERE status = 'sent' AND dt >= (SELECT lo FROM bounds)
),
marked AS (
    SELECT
        m.*,
        CASE
            WHEN LAG(message_at) OVER w IS NULL THEN 1
            WHEN to_unixtime(message_at) - to_unixtime(LAG(message_at) OVER w) >= 86400 THEN 1
            ELSE 0
        END AS starts
    FROM messages AS m
    WINDOW w AS (PARTITION BY customer_phone_hash, business_number ORDER BY message_at, message_id)
),
numbered AS (
    SELECT
        *,
        SUM(starts) OVER (
            PARTITION BY customer_phone_hash, business_number
            ORDER BY message_at, message_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS session_no
    FROM marked
),
sessions AS (
    SELECT
        customer_phone_hash,
        business_number,
        session_no,
        MIN(message_at) AS started_at,
        MAX(message_at) AS last_message_at,
        MIN(CASE WHEN direction = 'inbound' THEN message_at END) AS first_inbound_at,
        SUM(CASE WHEN direction = 'inbound' THEN 1 ELSE 0 END) AS inbound_messages,
        SUM(CASE WHEN direction = 'outbound' THEN 1 ELSE 0 END) AS outbound_messages
    FROM numbered
    GROUP BY customer_phone_hash, business_number, session_no
),
first_message AS (
    SELECT customer_phone_hash, business_number, session_no, message_id FROM (
        SELECT n.*, ROW_NUMBER() OVER (PARTITION BY customer_phone_hash, business_number, session_no ORDER BY message_at, message_id) AS k
        FROM numbered AS n
    ) AS f
    WHERE k = 1
),
first_reply AS (
    SELECT customer_phone_hash, business_number, session_no, message_at AS replied_at, agent_extension, queue_name FROM (
        SELECT n.*, ROW_NUMBER() OVER (PARTITION BY n.customer_phone_hash, n.business_number, n.session_no ORDER BY n.message_at, n.message_id) AS k
        FROM numbered AS n
        JOIN sessions AS s USING (customer_phone_hash, business_number, session_no)
        WHERE n.direction = 'outbound' AND n.agent_extension IS NOT NULL
          AND s.first_inbound_at IS NOT NULL AND n.message_at >= s.first_inbound_at
    ) AS r
    WHERE k = 1
)
SELECT
    f.message_id AS conversation_id,
    s.started_at,
    s.last_message_at,
    s.business_number,
    s.customer_phone_hash,
    s.first_inbound_at,
    r.replied_at,
    r.agent_extension,
    r.queue_name,
    r.replied_at IS NOT NULL AS answered,
    CAST(to_unixtime(r.replied_at) - to_unixtime(s.first_inbound_at) AS BIGINT) AS wait_s,
    CAST(s.inbound_messages AS BIGINT) AS inbound_messages,
    CAST(s.outbound_messages AS BIGINT) AS outbound_messages,
    local_date(s.started_at) AS dt
FROM sessions AS s
JOIN first_message AS f USING (customer_phone_hash, business_number, session_no)
LEFT JOIN first_reply AS r USING (customer_phone_hash, business_number, session_no)
WHERE local_date(s.started_at) IN (SELECT dt FROM __partitions)
