-- The retry budget's counts: first attempts (d) and retries (w) in buckets of a tenth of the
-- window, indexed by the Redis server's clock (no client clock skew). Records what the calling
-- process has counted since its last call and answers the window's totals; the process decides
-- its retries on them. Arguments are built by budgetCall() in budget.ts.
-- KEYS[1]: the budget (hash: d<bucket> and w<bucket> = counts).
-- ARGV: bucketMs, buckets (per window), deposits, withdrawals.
-- Reply: { deposits, withdrawals } in the window, as strings.
if redis.replicate_commands then pcall(redis.replicate_commands) end
local key = KEYS[1]
local bucketMs = tonumber(ARGV[1])
local buckets = tonumber(ARGV[2])
local d = tonumber(ARGV[3])
local w = tonumber(ARGV[4])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local bucket = math.floor(now / bucketMs)
if d > 0 then redis.call('HINCRBY', key, 'd' .. string.format('%d', bucket), d) end
if w > 0 then redis.call('HINCRBY', key, 'w' .. string.format('%d', bucket), w) end
local fields = redis.call('HGETALL', key)
local deposits, withdrawals = 0, 0
local stale = {}
for i = 1, #fields, 2 do
  local field = fields[i]
  local index = tonumber(string.sub(field, 2))
  if index == nil or index <= bucket - buckets then
    stale[#stale + 1] = field
  elseif string.sub(field, 1, 1) == 'd' then
    deposits = deposits + tonumber(fields[i + 1])
  else
    withdrawals = withdrawals + tonumber(fields[i + 1])
  end
end
if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
redis.call('PEXPIRE', key, math.ceil(bucketMs * (buckets + 1)))
return { tostring(deposits), tostring(withdrawals) }
