-- Scenario 6: GET /health, the ceiling of this HTTP stack (actix-web + middleware) here.
local common = dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

function init(args)
  wrk.method = "GET"
  wrk.path = "/health"
end
