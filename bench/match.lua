-- wrk script: POST /api/v1/match with a rotating set of realistic cases (synthetic demo network).
local cases = {
  '{"needs": ["gmp_haccp", "fda_registration"], "province": "TH-50", "top_k": 3}',
  '{"needs": ["loan", "credit_guarantee"], "province": "Khon Kaen", "top_k": 3}',
  '{"needs": ["branding", "online_marketing"], "province": "TH-90", "top_k": 3}',
  '{"needs": ["shelf_life", "packaging_design", "fda_registration"], "province": "Ubon Ratchathani", "top_k": 3}',
  '{"needs": ["process_improvement"], "province": "TH-20", "top_k": 3}',
  '{"needs": ["rnd_product", "ip_protection", "branding", "loan"], "province": "Phitsanulok", "top_k": 3}',
}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i % #cases + 1
  return wrk.format(nil, "/api/v1/match", nil, cases[i])
end
errors = 0
response = function(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format('WRK_JSON {"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p99_ms": %.3f, "non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
