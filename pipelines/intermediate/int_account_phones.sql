/* kpi-etl
materialized = "table"
strategy = "replace"
description = """The phones of every account (as keyed hashes): its own Phone plus the Phone and
MobilePhone of every lead converted into it. Deleted accounts and leads count nowhere."""
*/
WITH accounts AS (
    SELECT account_id, phone_hash FROM stg_crm_accounts WHERE NOT is_deleted
),
converted AS (
    SELECT converted_account_id AS account_id, phone_hash, mobile_phone_hash
    FROM stg_crm_leads
    WHERE NOT is_deleted AND is_converted AND converted_account_id IS NOT NULL
)
SELECT account_id, phone_hash FROM accounts WHERE phone_hash IS NOT NULL
UNION
SELECT c.account_id, c.phone_hash FROM converted AS c JOIN accounts AS a USING (account_id) WHERE c.phone_hash IS NOT NULL
UNION
SELECT c.account_id, c.mobile_phone_hash FROM converted AS c JOIN accounts AS a USING (account_id) WHERE c.mobile_phone_hash IS NOT NULL
