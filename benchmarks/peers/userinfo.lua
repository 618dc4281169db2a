-- wrk script: GET /userinfo with a bearer access token, one token per client.
--
--   wrk -t C -c C -d SECONDS -s userinfo.lua URL -- TOKENS_FILE
--
-- One connection per wrk thread, as in refresh.lua; thread n sends the access token on line n
-- of TOKENS_FILE. Any answer but a 200 with the user's "sub" is counted as an error.

local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

local req = nil
local bad = 0

function init(args)
  local n = 0
  for line in io.lines(args[1]) do
    n = n + 1
    if n == id then
      req = wrk.format("GET", "/userinfo", { Authorization = "Bearer " .. line })
    end
  end
end

function request()
  return req
end

function response(status, _, body)
  if status ~= 200 or not body:find('"sub"', 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, _)
  local e, wrong = summary.errors, 0
  for _, t in ipairs(threads) do
    wrong = wrong + (t:get("bad") or 0)
  end
  io.write(string.format(
    "BENCH requests=%d duration_us=%d status_errors=%d socket_errors=%d wrong_answers=%d "
      .. "p50_us=%d p95_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout, wrong,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)
  ))
end
