-- The bulkhead's slots in use, as a sorted set of lease ids scored by expiry (server time, ms).
-- Every operation first drops expired leases, so a crashed holder's slots come back by
-- themselves. Arguments are built by leasesCall() in leases.ts.
-- KEYS[1]: the sorted set.
-- ARGV: op ('acquire' | 'adopt' | 'release' | 'renew'), maxConcurrent, leaseTtlMs, then: acquire,
--   the new lease's id and the ids of leases to free first (freed by this process while Redis was
--   away); adopt, the new lease's id, the count k of leases to add whatever the limit (for calls
--   this process still runs on slots of its own, taken while Redis was away), those k ids, then
--   the ids of leases to free first; release, the ids of the leases to free; renew, the ids of
--   the leases to renew; retake, the ids of leases to renew or add again whatever the limit (the
--   calls this process still runs, after a time without Redis).
-- Replies: acquire and adopt { granted 1/0, in use }; release { 1, in use };
--   renew and retake { in use, { lost ids } } (none lost for retake).
if redis.replicate_commands then pcall(redis.replicate_commands) end
local key = KEYS[1]
local op = ARGV[1]
local max = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if op == 'acquire' or op == 'adopt' then
  local first = 5
  if op == 'adopt' then
    local k = tonumber(ARGV[5])
    first = 6 + k
    for i = 6, 5 + k do redis.call('ZADD', key, now + ttl, ARGV[i]) end
    redis.call('PEXPIRE', key, ARGV[3])
  end
  if #ARGV >= first then redis.call('ZREM', key, unpack(ARGV, first)) end
  local n = redis.call('ZCARD', key)
  if n < max then
    redis.call('ZADD', key, now + ttl, ARGV[4])
    redis.call('PEXPIRE', key, ARGV[3])
    return { 1, n + 1 }
  end
  return { 0, n }
elseif op == 'release' then
  redis.call('ZREM', key, unpack(ARGV, 4))
  return { 1, redis.call('ZCARD', key) }
elseif op == 'retake' then
  for i = 4, #ARGV do redis.call('ZADD', key, now + ttl, ARGV[i]) end
  redis.call('PEXPIRE', key, ARGV[3])
  return { redis.call('ZCARD', key), {} }
end
local lost = {}
for i = 4, #ARGV do
  if redis.call('ZSCORE', key, ARGV[i]) then
    redis.call('ZADD', key, now + ttl, ARGV[i])
  else
    lost[#lost + 1] = ARGV[i]
  end
end
local n = redis.call('ZCARD', key)
if n > 0 then redis.call('PEXPIRE', key, ARGV[3]) end
return { n, lost }
