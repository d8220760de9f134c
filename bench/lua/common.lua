-- Shared by every scenario script: loads the seeded data set, gives each wrk thread its
-- own slice of carts, picks a valid sku for a cart's order type, and prints one
-- machine-readable `BENCH …` line from done() for scripts/bench.sh to collect.
--
-- Environment (set by scripts/bench.sh):
--   BENCH_DATA      path of data.lua written by `trolley-bench seed`
--   BENCH_SCENARIO  name printed in the result line
--   BENCH_THREADS   wrk -t (how many slices the carts are cut into, per node)
--   BENCH_NODES     how many wrk processes share the carts, one per server node (default 1)
--   BENCH_NODE      which of them this is, from 0 (default 0)
--   BENCH_DEBUG     when set, every script records the first non-2xx answer

local common = {}

common.data = dofile(assert(os.getenv("BENCH_DATA"), "BENCH_DATA is not set"))
common.threads = tonumber(os.getenv("BENCH_THREADS") or "2")
common.nodes = tonumber(os.getenv("BENCH_NODES") or "1")
common.node = tonumber(os.getenv("BENCH_NODE") or "0")
common.debug = os.getenv("BENCH_DEBUG") ~= nil and os.getenv("BENCH_DEBUG") ~= ""

-- Main state: number the threads so each one takes its own slice; keep them for done().
local all_threads = {}
function common.setup(thread)
  thread:set("tid", #all_threads)
  table.insert(all_threads, thread)
end

-- This thread's slice of `list`: every `threads × nodes`-th entry, starting at its id (the
-- wrk of node k numbers its threads after those of nodes 0…k-1), so no two threads, on one
-- node or on two, write the same cart.
function common.slice(list)
  local mine = {}
  local t = common.node * common.threads + (tid or 0)
  for i = t + 1, #list, common.threads * common.nodes do
    mine[#mine + 1] = list[i]
  end
  return mine
end

-- A sku that may be added to a cart of `kind` (g | fNN | m) without being refused:
-- grocery any, food from the cart's own outlet, medicine never a prescription item.
function common.sku_for(kind)
  local l = common.data.layout
  local k = kind:sub(1, 1)
  if k == "g" then
    return string.format("G%05d", math.random(0, l.grocery - 1))
  elseif k == "f" then
    return string.format("F%s-%03d", kind:sub(2), math.random(0, l.food_per_seller - 1))
  else
    local i = math.random(0, l.medicine - 1)
    if i % 20 == 0 then i = i + 2 end
    if i >= l.medicine then i = l.medicine - 2 end
    return string.format("M%04d", i)
  end
end

function common.cart_headers(cart)
  return {
    ["X-Api-Key"] = common.data.storefront_key,
    ["X-Cart-Token"] = cart[2],
  }
end

-- `exhausted` (checkout.lua) counts requests sent after a thread ran out of carts; they
-- fail on purpose, so they are also among the non-2xx answers.
-- Per-thread tallies that done() sums: answers that are not 2xx (also in wrk's own
-- count) and the first one seen, for the log.
bad = 0
first_error = ""
function common.record(status, body)
  if status >= 300 then
    bad = bad + 1
    if first_error == "" then
      first_error = tostring(status) .. " " .. string.sub(body or "", 1, 400)
    end
  end
end

function common.done(summary, latency, requests)
  local name = os.getenv("BENCH_SCENARIO") or "scenario"
  local secs = summary.duration / 1e6
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  local extra = 0
  local note = ""
  for _, thread in ipairs(all_threads) do
    extra = extra + (tonumber(thread:get("exhausted")) or 0)
    local first = thread:get("first_error")
    if first and first ~= "" and note == "" then note = first end
  end
  io.write(string.format(
    "BENCH scenario=%s requests=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d p999_us=%d " ..
    "errors=%d non2xx=%d socket=%d exhausted=%d\n",
    name, summary.requests, secs, summary.requests / secs,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    e.status + socket, e.status, socket, extra))
  if note ~= "" then
    io.stderr:write(string.format("BENCH-ERROR scenario=%s first non-2xx: %s\n", name,
      (note:gsub("\n", " "))))
  end
end

setup = common.setup
done = common.done
if common.debug then
  function response(status, headers, body)
    common.record(status, body)
  end
end

return common
