-- wrk script for the IngestWrk benchmark: replays recorded M2M callbacks,
-- each once, spread over wrk's threads.
--
--   wrk -t2 -c32 -d300s -s callbacks.lua URL -- FILE THREADS
--
-- FILE holds one callback a line: its x-callback-token, a tab, its JSON
-- body. THREADS must equal wrk's -t. The Authorization header comes from
-- wrk's -H.
--
-- wrk runs for its whole -d, so each thread stops once its share is
-- answered and prints "THREAD DONE"; the caller then ends wrk with SIGINT.
-- The time is taken here, with the monotonic clock, from a thread's first
-- request to its last answer. At the end the script prints one line:
--
--   RESULT answered=N span_us=D status_2xx=A status_other=B errors=E

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } wrk_timespec;
int clock_gettime(int clk_id, wrk_timespec *tp);
]]
local ts = ffi.new("wrk_timespec")
local CLOCK_MONOTONIC = 1

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  reqs = {}
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == id then
      local tab = line:find("\t", 1, true)
      -- wrk.format takes these headers instead of -H's, so add those.
      local headers = {}
      for k, v in pairs(wrk.headers) do
        headers[k] = v
      end
      headers["Content-Type"] = "application/json"
      headers["X-Callback-Token"] = line:sub(1, tab - 1)
      reqs[#reqs + 1] = wrk.format("POST", nil, headers, line:sub(tab + 1))
    end
    i = i + 1
  end
  sent, answered, ok, other, first, last = 0, 0, 0, 0, 0, 0
end

function request()
  if sent == 0 then
    first = now_us()
  end
  sent = sent + 1
  -- Past the end, repeat the first requests until the last answers arrive
  -- and the thread stops; those answers are not counted.
  return reqs[(sent - 1) % #reqs + 1]
end

function response(status, headers, body)
  if answered >= #reqs then
    return
  end
  answered = answered + 1
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    other = other + 1
  end
  if answered == #reqs then
    last = now_us()
    io.write("THREAD DONE\n")
    io.stdout:flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local answered, ok, other, first, last = 0, 0, 0, math.huge, 0
  for _, t in ipairs(threads) do
    answered = answered + t:get("answered")
    ok = ok + t:get("ok")
    other = other + t:get("other")
    first = math.min(first, t:get("first"))
    last = math.max(last, t:get("last"))
  end
  local e = summary.errors
  io.write(string.format("RESULT answered=%d span_us=%d status_2xx=%d status_other=%d errors=%d\n",
    answered, last - first, ok, other, e.connect + e.read + e.write + e.timeout))
end
