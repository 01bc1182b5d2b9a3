#!/usr/bin/env bash
# The README's HTTP session, end to end: capacity in (site, funding round, supply order, delivery,
# commissioning), a tenant and its token, a live reservation, a backfilled past reservation with
# metered usage, the invoice of that closed month, and the reports.
#
#   LEDGER_URL      the API's base URL (default http://127.0.0.1:8000)
#   OPERATOR_TOKEN  FINANCE_TOKEN  METER_TOKEN   tokens from `ledger token create --role ...`
#   LEDGER          the command line, to create the tenant's token (default: ledger); it uses the
#                   server's store: LEDGER_DATABASE_URL, or the .env file, or ./ledger.db
#
# Needs curl, and jq (else python3) to read JSON. Exits non-zero at the first unexpected answer.
# Every POST carries an Idempotency-Key (unique per run), so any step may be retried as is.
set -euo pipefail

BASE=${LEDGER_URL:-http://127.0.0.1:8000}
LEDGER=${LEDGER:-ledger}
: "${OPERATOR_TOKEN:?set OPERATOR_TOKEN (ledger token create --role operator)}"
: "${FINANCE_TOKEN:?set FINANCE_TOKEN (ledger token create --role finance)}"
: "${METER_TOKEN:?set METER_TOKEN (ledger token create --role meter)}"
RUN=$(date +%s)-$$            # makes this run's Idempotency-Keys unique
HEADERS=$(mktemp)
trap 'rm -f "$HEADERS"' EXIT

json() {  # json FIELD < document: one top-level field, raw
  if command -v jq >/dev/null; then jq -r ".$1"; else
    python3 -c "import json,sys; v=json.load(sys.stdin)['$1']; print(v if isinstance(v, str) else json.dumps(v, indent=2))"
  fi
}

call() {  # call METHOD PATH TOKEN [BODY]: prints the body; fails on a non-2xx answer
  local method=$1 path=$2 token=$3 body=${4:-} status out
  local args=(-sS -X "$method" "$BASE$path" -H "Authorization: Bearer $token" -D "$HEADERS" -w '\n%{http_code}')
  if [ "$method" = POST ]; then
    # the key names this request of this run: a retry of the same request sends the same key
    args+=(-H "Idempotency-Key: $RUN-$(printf '%s %s' "$path" "$body" | cksum | cut -d' ' -f1)"
           -H 'Content-Type: application/json' -d "${body:-{\}}")
  fi
  out=$(curl "${args[@]}")
  status=${out##*$'\n'}
  out=${out%$'\n'*}
  if [ "${status:0:1}" != 2 ]; then
    echo "$method $path -> $status: $out" >&2
    exit 1
  fi
  printf '%s\n' "$out"
}
position() { tr -d '\r' < "$HEADERS" | awk -F': ' 'tolower($1) == "ledger-position" {print $2}'; }

# --- capacity in (operator) ---------------------------------------------------------------------
SITE=$(call POST /v1/sites "$OPERATOR_TOKEN" '{"name":"UK Stargate","country":"GB","grid_intensity_g_per_kwh":"225",
  "pue":"1.18","carbon_free_share":"0.6","effective_from":"2025-01-01T00:00:00Z"}' | json id)
ROUND=$(call POST /v1/funding-rounds "$OPERATOR_TOKEN" \
  '{"name":"Series B","currency":"USD","opened_at":"2025-01-01T00:00:00Z"}' | json id)
call POST "/v1/funding-rounds/$ROUND/commitments" "$OPERATOR_TOKEN" \
  '{"investor":"Fund X","amount":"5000000","currency":"USD","equity_percent":"10"}' >/dev/null
call POST "/v1/funding-rounds/$ROUND/tranches" "$OPERATOR_TOKEN" \
  '{"investor":"Fund X","amount":"5000000","currency":"USD","received_at":"2025-01-02T00:00:00Z"}' >/dev/null
ORDER=$(call POST /v1/supply-orders "$OPERATOR_TOKEN" "{\"funding_round_id\":\"$ROUND\",\"site_id\":\"$SITE\",
  \"model\":\"H100-SXM\",\"quantity\":64,\"unit_price\":\"25000\",\"currency\":\"USD\",\"placed_at\":\"2025-01-03T00:00:00Z\"}" \
  | json id)
call POST "/v1/supply-orders/$ORDER/deliveries" "$OPERATOR_TOKEN" \
  '{"quantity":64,"delivered_at":"2025-01-10T00:00:00Z"}' >/dev/null
call POST "/v1/supply-orders/$ORDER/commissioning" "$OPERATOR_TOKEN" \
  '{"quantity":64,"commissioned_at":"2025-01-11T00:00:00Z"}' >/dev/null
echo "capacity: site $SITE, round $ROUND, order $ORDER: 64 H100-SXM in service"

# --- a tenant and its token ---------------------------------------------------------------------
TENANT=$(call POST /v1/tenants "$FINANCE_TOKEN" \
  '{"name":"Lab","billing_currency":"USD","rates":{"H100-SXM":"2.50"}}' | json id)
TENANT_TOKEN=$("$LEDGER" token create --role tenant --tenant "$TENANT" 2>/dev/null)
echo "tenant: $TENANT"

# --- a live reservation: the tenant books hours that have not started (tomorrow, two GPUs, 24 h) --
START=$(python3 -c 'from datetime import datetime, timedelta, UTC
print((datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z"))')
END=$(python3 -c "from datetime import datetime, timedelta
print((datetime.fromisoformat('${START%Z}') + timedelta(days=1)).strftime('%Y-%m-%dT%H:%M:%SZ'))")
LIVE=$(call POST /v1/reservations "$TENANT_TOKEN" \
  "{\"site_id\":\"$SITE\",\"model\":\"H100-SXM\",\"gpus\":2,\"start\":\"$START\",\"end\":\"$END\"}" | json id)
echo "reservation: $LIVE ($START .. $END) at position $(position)"

# --- a past month: the operator backfills March 2025, the meter reports its usage ----------------
PAST=$(call POST /v1/reservations "$OPERATOR_TOKEN" "{\"tenant_id\":\"$TENANT\",\"site_id\":\"$SITE\",
  \"model\":\"H100-SXM\",\"gpus\":2,\"start\":\"2025-03-01T00:00:00Z\",\"end\":\"2025-03-03T00:00:00Z\",\"backfill\":true}" \
  | json id)
echo "backfilled reservation: $PAST (2025-03-01 .. 2025-03-03)"
USAGE=$(call POST /v1/usage "$METER_TOKEN" "{\"records\":[
  {\"record_id\":\"$(python3 -c 'import uuid; print(uuid.uuid4())')\",\"reservation_id\":\"$PAST\",\"hour\":\"2025-03-01T00:00:00Z\",\"gpu_hours\":\"1.75\"},
  {\"record_id\":\"$(python3 -c 'import uuid; print(uuid.uuid4())')\",\"reservation_id\":\"$PAST\",\"hour\":\"2025-03-01T01:00:00Z\",\"gpu_hours\":\"2\"}]}")
echo "usage: $(json recorded <<< "$USAGE") records at position $(position)"

# --- the invoice of the closed month (finance) ---------------------------------------------------
INVOICE=$(call POST /v1/invoices "$FINANCE_TOKEN" "{\"tenant_id\":\"$TENANT\",\"month\":\"2025-03\"}")
AT=$(position)
echo "invoice: $(json id <<< "$INVOICE") total $(json total <<< "$INVOICE") $(json currency <<< "$INVOICE")"

# --- reports, once the projections have reached the invoice (read-your-writes) --------------------
echo "billing 2025-03 (tenant's view, CSV):"
curl -sS --fail "$BASE/v1/reports/billing?from=2025-03&to=2025-03&min_position=$AT" \
  -H "Authorization: Bearer $TENANT_TOKEN" -H 'Accept: text/csv'
echo "billing totals:"
call GET "/v1/reports/billing_totals?tenant_id=$TENANT&min_position=$AT" "$FINANCE_TOKEN" | json rows
echo "sustainability:"
call GET "/v1/reports/sustainability?tenant_id=$TENANT&min_position=$AT" "$FINANCE_TOKEN" | json rows
echo "done"
