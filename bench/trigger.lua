-- wrk script for bench/ingest.py: POSTs the spec-003 trigger body, each with a fresh dedup key
-- except one request in four, which repeats one of the three keys just before it (so both the
-- "create incident" and the "append alert" paths run). Counts requests sent and 202 answers per
-- thread, and prints one "BENCH_RESULT {json}" line from done() for the driver to parse.
--
-- usage: wrk -t2 -c32 -d10s --latency -s trigger.lua http://127.0.0.1:PORT -- ROUTING_KEY KEY RUN_ID

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  routing_key = args[1]
  prefix = args[3] .. "-" .. tid .. "-"
  n = 0
  sent = 0
  ok = 0
  other = 0
  wrk.method = "POST"
  wrk.path = "/api/events"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[2]
end

function request()
  n = n + 1
  local key = n
  if n % 4 == 0 then
    key = n - math.random(1, 3)
  end
  sent = sent + 1
  local body = '{"routing_key":"' .. routing_key .. '","event_action":"trigger","dedup_key":"'
    .. prefix .. key .. '","payload":{"summary":"High CPU on web-01","severity":"critical",'
    .. '"source":"datadog"}}'
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 202 then
    ok = ok + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local total_ok, total_other, total_sent = 0, 0, 0
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_other = total_other + thread:get("other")
    total_sent = total_sent + thread:get("sent")
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"duration_us":%d,"requests":%d,"ok202":%d,"other_status":%d,"sent":%d,'
      .. '"socket_errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.duration, summary.requests, total_ok, total_other, total_sent,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99)
  ))
end
