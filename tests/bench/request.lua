-- wrk request script for bench.mjs: method, JSON body, bearer token and
-- If-Match from the environment; BENCH_TOKENS names a file of tokens used in turn, one per
-- request, so that no token is verified twice by the same worker's cache.
local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local token = os.getenv("BENCH_TOKEN")
local token_file = os.getenv("BENCH_TOKENS")
local if_match = os.getenv("BENCH_IF_MATCH")
local tokens = {}
local next_token = 0

wrk.method = method
if body then
	wrk.body = body
	wrk.headers["Content-Type"] = "application/json"
end
if token then
	wrk.headers["Authorization"] = "Bearer " .. token
end
if if_match then
	wrk.headers["If-Match"] = if_match
end

function init(args)
	if token_file then
		for line in io.lines(token_file) do
			tokens[#tokens + 1] = line
		end
		-- threads start at different places in the list
		next_token = math.random(#tokens)
	end
end

if token_file then
	function request()
		next_token = next_token % #tokens + 1
		return wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. tokens[next_token] })
	end
end
