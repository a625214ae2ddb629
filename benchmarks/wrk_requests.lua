-- wrk script: every request is the next line of a file of signed, encrypted WeChat messages, each from a new
-- citizen (built by benchmarks/webhook_load.py). wrk cannot compute SHA-1 or AES per request, so the messages are
-- made beforehand; each thread takes every n-th line, and a thread that ran out of lines reports it (a message
-- sent twice would be a WeChat retry, not a new citizen).
--
--   wrk -t2 -c16 -d10s -s wrk_requests.lua http://127.0.0.1:PORT -- requests.txt 2

local threads = {}
local count = 0

function setup(thread)
  count = count + 1
  thread:set("id", count)
  table.insert(threads, thread)
end

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  local headers = { ["Content-Type"] = "text/xml" }
  requests = {}
  local line_number = 0
  for line in io.lines(path) do
    if line_number % nthreads == id - 1 then
      local target, body = line:match("^([^\t]*)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", target, headers, body)
    end
    line_number = line_number + 1
  end
  sent = 0
  exhausted = 0
end

function request()
  sent = sent + 1
  if sent > #requests then
    exhausted = 1
    return requests[(sent - 1) % #requests + 1]
  end
  return requests[sent]
end

function done(summary, latency, requests)
  local exhausted_threads = 0
  for _, thread in ipairs(threads) do
    exhausted_threads = exhausted_threads + thread:get("exhausted")
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, '
      .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, "exhausted_threads": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3, errors.connect, errors.read, errors.write, errors.status, errors.timeout, exhausted_threads
  ))
end
