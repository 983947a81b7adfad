-- wrk script: POST /api/v1/offline-orders with a bearer token (TOKEN) and a walk-in order with three
-- items and installment terms, its down payment taken at once. Every request creates a new order
-- (no client id), the same work as the counter's create. Prints p50/p95/p99 at the end.
local token = os.getenv("TOKEN")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.body = [[{"channel":"walk_in","customer":{"name":"Siti Rahma","phone":"081234567890"},
"items":[{"name":"Rice cooker","quantity":"1","unit_price":"750000"},
{"name":"Kettle","quantity":"2","unit_price":"125000","discount":"5000"},
{"name":"Pan","quantity":"1","unit_price":"200000"}],
"payment_terms":{"type":"installment","down_payment":"300000","installment_count":3,
"interval":"monthly","first_due_date":"2027-01-10"},
"initial_payment":{"method":"cash","amount":"300000"}}]]

-- THINK_MS: each connection waits that long after a response before its next request (a
-- counter's pace rather than a flood); unset, connections send back to back.
local think = tonumber(os.getenv("THINK_MS") or "0")
if think > 0 then
  delay = function() return think end
end

local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  local function ms(p) return latency:percentile(p) / 1000 end
  io.write(string.format("create order: p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms, %.1f req/s, %d requests, %d errors\n",
    ms(50), ms(95), ms(99), latency.max / 1000, summary.requests / (summary.duration / 1e6), summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
