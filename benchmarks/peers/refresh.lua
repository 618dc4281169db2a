-- wrk script: refresh-token rotation, one chain of tokens per client, used strictly in turn.
--
--   wrk -t C -c C -d LIMIT -s refresh.lua URL -- TOKENS_FILE ROTATIONS OUT_PREFIX
--
-- One connection per wrk thread (as many threads as connections), so each thread is one client
-- holding one family: thread n takes line n of TOKENS_FILE, sends it, reads the successor out
-- of the 200 answer and sends that next. After ROTATIONS rotations, or at the first failure,
-- it writes "first last previous rotations failures" to OUT_PREFIX.n and stops, so no request
-- is in flight when the run ends and no answer is lost. The benchmark then checks, with those
-- tokens, that nothing was lost and that reuse is detected.

local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

local first, token, previous = nil, nil, "-"
local rotations, failures, wanted = 0, 0, 0
local out_path = nil
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
local prefix = "grant_type=refresh_token&client_id=tutorial-app&refresh_token="

function init(args)
  wanted = tonumber(args[2])
  out_path = args[3] .. "." .. id
  local n = 0
  for line in io.lines(args[1]) do
    n = n + 1
    if n == id then
      first, token = line, line
    end
  end
end

function request()
  return wrk.format("POST", "/oauth/token", headers, prefix .. token)
end

local function finish()
  local f = io.open(out_path, "w")
  f:write(first, " ", token, " ", previous, " ", rotations, " ", failures, "\n")
  f:close()
  wrk.thread:stop()
end

function response(status, _, body)
  local successor = status == 200 and body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if successor then
    previous, token = token, successor
    rotations = rotations + 1
  else
    failures = failures + 1
  end
  if failures > 0 or rotations >= wanted then
    finish()
  end
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d status_errors=%d socket_errors=%d "
      .. "p50_us=%d p95_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)
  ))
end
