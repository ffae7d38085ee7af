-- The rate limiter's token bucket: one decision, atomically, on the server's clock (no client
-- clock skew). The bucket is a reservation ledger like the in-memory one: its count goes below
-- zero by the tokens reserved by callers still waiting, in any process, so earlier reservations
-- are always served first. Arguments are built by bucketCall() in bucket.ts.
-- KEYS[1]: the bucket (hash: t = tokens, ts = time of t in ms).
-- ARGV: maxTokens, refillRate (per second), op ('r' reserve, 'f' refund), permits,
--   maxWaitMs (-1: no limit).
-- Reply: { result, tokens } as strings (Lua numbers would be truncated to integers).
if redis.replicate_commands then pcall(redis.replicate_commands) end
local key = KEYS[1]
local max = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local op = ARGV[3]
local permits = tonumber(ARGV[4])
local maxWait = tonumber(ARGV[5])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local state = redis.call('HMGET', key, 't', 'ts')
local tokens = tonumber(state[1])
local last = tonumber(state[2])
if tokens == nil or last == nil then
  tokens = max
  last = now
elseif now > last then
  tokens = math.min(max, tokens + (now - last) * rate / 1000)
  last = now
end
local result = 0
if op == 'r' then
  if tokens >= permits then
    tokens = tokens - permits
  else
    local wait = (permits - tokens) * 1000 / rate
    if maxWait >= 0 and wait > maxWait then
      return { string.format('%.17g', -wait), string.format('%.17g', tokens) }
    end
    tokens = tokens - permits
    result = wait
  end
elseif op == 'f' then
  tokens = math.min(max, tokens + permits)
end
redis.call('HSET', key, 't', string.format('%.17g', tokens), 'ts', string.format('%.17g', last))
-- Once idle this long the bucket would be full again, which is what a missing key means.
local idle = math.ceil((max - tokens) * 1000 / rate)
if idle < 5000 then idle = 5000 elseif idle > 1e15 then idle = 1e15 end
redis.call('PEXPIRE', key, string.format('%d', idle))
return { string.format('%.17g', result), string.format('%.17g', tokens) }
