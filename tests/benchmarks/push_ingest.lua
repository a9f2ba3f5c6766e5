-- wrk script of tests/benchmarks/push_ingest.py and soak.py: every request is one Tomda WORK_DATA push (§5.2.2),
-- a new minute of one seeded session, so no body is ever a duplicate.
--
-- Configured by the environment (the same in wrk's main state and in every thread's state):
--   PUSH_SESSIONS  seeded sessions; session i is charger B<i:09d> with order 20261121100000<i:06d>
--   PUSH_OFFSET    first reading of this run; runs continue where the previous one stopped
--   PUSH_THREADS   wrk's -t, so each thread knows its stride
--   PUSH_START     session start as Beijing wall-clock seconds since the epoch (printed with "!")
--   PUSH_RATE      > 0: pace the whole run to about this many requests per second with delay()
--
-- Reading k is minute k // SESSIONS + 1 of session k % SESSIONS. Thread t sends k = OFFSET + t,
-- OFFSET + t + THREADS, ... so two threads never send the same body, and done() prints the offset
-- the next run must start from.

local sessions = tonumber(os.getenv("PUSH_SESSIONS"))
local offset = tonumber(os.getenv("PUSH_OFFSET"))
local nthreads = tonumber(os.getenv("PUSH_THREADS"))
local start = tonumber(os.getenv("PUSH_START"))
local rate = tonumber(os.getenv("PUSH_RATE") or "0")

local BODY = '{"type":"WORK_DATA","time":"%s","content":{"serialNum":"B%09d","workDataInfo":[{'
    .. '"connectorId":0,"clientOrderId":"20261121100000%06d","deviceTime":"%s","chargerRunStatus":"CHARGE",'
    .. '"chargeTime":%d,"chargeVoltage":2200,"chargeCurrent":318,"chargePower":7000,"chargeEnergy":%d,'
    .. '"chargeCost":0,"soc":%d}]}}'

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  next_k = offset + id  -- `id` was set by setup() before init() runs in this thread
  sent, acked = 0, 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local k = next_k
  next_k = next_k + nthreads
  sent = sent + 1
  local session = k % sessions
  local minute = math.floor(k / sessions) + 1
  local at = os.date("!%Y-%m-%d %H:%M:%S", start + minute * 60)
  local body = string.format(BODY, at, session, session, at, minute, minute * 110,
      math.min(99, 20 + math.floor(minute / 3)))
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 200 and (body:find('"errorCode":"200"', 1, true) or body:find('"errorCode": "200"', 1, true)) then
    acked = acked + 1
  end
end

if rate > 0 then
  -- Defined only when pacing: wrk then schedules every request through a timer. Each thread owns
  -- 1/THREADS of the rate and hands out send slots on a monotonic clock; a slot missed because
  -- the server was slow is not made up for later.
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } push_ingest_timespec;
    int clock_gettime(int clock, push_ingest_timespec *now);
  ]]
  local clock = ffi.new("push_ingest_timespec")
  local function now()
    ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
    return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) * 1e-9
  end
  local interval = nthreads / rate
  local slot = 0

  function delay()
    local t = now()
    if slot < t then slot = t end
    local wait = slot - t
    slot = slot + interval
    return math.floor(wait * 1000 + 0.5)
  end
end

function done(summary, latency, requests)
  local acked_total, sent_total, most = 0, 0, 0
  for _, thread in ipairs(threads) do
    acked_total = acked_total + thread:get("acked")
    sent_total = sent_total + thread:get("sent")
    most = math.max(most, thread:get("sent"))
  end
  local e = summary.errors
  -- status_errors: answers other than 2xx/3xx; timeouts are among the socket errors too.
  io.write(string.format(
      "PUSH_INGEST responses=%d acked=%d sent=%d duration_us=%d p50_us=%d p95_us=%d p99_us=%d socket_errors=%d "
      .. "status_errors=%d timeouts=%d next_offset=%d\n",
      summary.requests, acked_total, sent_total, summary.duration, latency:percentile(50), latency:percentile(95),
      latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status, e.timeout,
      offset + nthreads * most))
end
