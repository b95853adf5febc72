-- wrk script for bench/throughput.sh. Environment:
--   BENCH_MODE   healthz | auth_only | by_id | filter | ext_filter | page | patch | create
--                (create: POST /Users, a new userName each request, unique across
--                threads and runs)
--   BENCH_LIST   a file, one value a line, picked at random: resource ids (by_id, patch),
--                or userNames (filter; without a list, userNNNNNN@example.com from
--                0..BENCH_USERS-1, the names bench/throughput.sh seeds)
--   BENCH_USERS  directory size (page: startIndex from 1 to BENCH_USERS-99)
--   BENCH_TOKEN  bearer token (empty: no Authorization header)
--   BENCH_PREFIX SCIM base path, default /scim/v2
-- done() prints one line `RESULT key=value ...` that the shell script parses.

local mode = os.getenv("BENCH_MODE") or "healthz"
local users = tonumber(os.getenv("BENCH_USERS") or "0")
local token = os.getenv("BENCH_TOKEN") or ""
local prefix = os.getenv("BENCH_PREFIX") or "/scim/v2"
local list_file = os.getenv("BENCH_LIST") or ""

local ids = {}
local counter = 1
local created = 0
local run = os.time()
local threads = {}

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
  if list_file ~= "" then
    for line in io.lines(list_file) do
      if line ~= "" then
        ids[#ids + 1] = line
      end
    end
  end
  if token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
  wrk.headers["Accept"] = "application/scim+json"
end

local function random_id()
  return ids[math.random(#ids)]
end

function request()
  if mode == "healthz" then
    return wrk.format("GET", "/healthz")
  elseif mode == "auth_only" then
    return wrk.format("GET", prefix .. "/ServiceProviderConfig")
  elseif mode == "by_id" then
    return wrk.format("GET", prefix .. "/Users/" .. random_id())
  elseif mode == "filter" then
    local name
    if #ids > 0 then
      name = random_id()
    else
      name = string.format("user%06d@example.com", math.random(users) - 1)
    end
    return wrk.format("GET", prefix .. "/Users?filter=" .. urlencode('userName eq "' .. name .. '"'))
  elseif mode == "ext_filter" then
    local cc = string.format("CC-%06d", math.random(users) - 1)
    return wrk.format("GET", prefix .. "/Users?filter="
      .. urlencode('urn:example:bench:2.0:User:costCenter eq "' .. cc .. '"'))
  elseif mode == "page" then
    local last = users - 99
    if last < 1 then last = 1 end
    return wrk.format("GET", prefix .. "/Users?count=100&startIndex=" .. math.random(last))
  elseif mode == "patch" then
    local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],'
      .. '"Operations":[{"op":"replace","path":"displayName","value":"Bench '
      .. math.random(1000000000) .. '"}]}'
    -- wrk.format uses the headers it is given instead of wrk.headers: pass all of them.
    local headers = { ["Content-Type"] = "application/scim+json" }
    for k, v in pairs(wrk.headers) do headers[k] = v end
    return wrk.format("PATCH", prefix .. "/Users/" .. random_id(), headers, body)
  elseif mode == "create" then
    created = created + 1
    local name = string.format("wrk%d-%d-%d@bench.example", run, tid, created)
    local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"'
      .. name .. '","name":{"givenName":"W","familyName":"' .. created .. '"},'
      .. '"emails":[{"value":"' .. name .. '","primary":true}]}'
    local headers = { ["Content-Type"] = "application/scim+json" }
    for k, v in pairs(wrk.headers) do headers[k] = v end
    return wrk.format("POST", prefix .. "/Users", headers, body)
  end
  error("unknown BENCH_MODE " .. mode)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d " ..
    "connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
