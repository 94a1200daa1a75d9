// Package pool keeps shared licenses in etcd, so that many agents spend one license without
// ever granting more than it holds, while each decides locally from blocks it has leased.
//
// It owns the pool's keys and every transaction on them; it decides nothing about a
// consumption (that is core's, from the blocks this package leases) and knows nothing of the
// write-ahead log. Every write is one etcd transaction guarded by compares on the mod revision
// of each key it read, so two agents racing for the last units cannot both win: the loser
// reads again and retries.
//
// # Keys
//
// Under a prefix (Config.Prefix, "meterd/" by default), values are JSON:
//
//	product/<productId>            a product, as PUT /products stored it
//	license/<licenseId>            a pooled license: owner, item, product, creation time and its
//	                               credits (id, transaction item, window, useCount); credits are
//	                               only ever appended
//	item/<owner>/<item>            the id of owner's license for item (one license per pair)
//	tx/<externalId>                a provisioning transaction's first answer, opaque to the pool
//	                               (core's encoding), so that a resent order returns it
//	free/<licenseId>               per credit (by index), the units no agent holds
//	held/<licenseId>/<agentId>     per credit, the units moved to the agent and not returned
//	                               ("held", consumed ones included) and the units it reported
//	                               consumed ("used"); with the agent's epoch
//	agent/<agentId>                the agent's epoch, and whether it was evicted
//	member/<agentId>               present while the agent is alive: attached to an etcd lease
//	                               of POOL_LEASE_TTL that the agent keeps alive
//
// For every credit, free + the sum of held over agents = useCount: a lease moves units from
// free to held, a return moves them back, and nothing else changes either (an eviction moves
// back what the evicted agent held beyond what it reported used).
//
// # Epochs and fencing
//
// An agent's writes compare agent/<agentId>'s mod revision with the one it joined under.
// Evict bumps the epoch and marks the agent evicted, releasing its unreported units; every
// later write of the evicted incarnation fails with ErrFenced, so it can neither lease nor
// return, and core drops the blocks it held (they were released) before it joins again under
// a new epoch. Evict refuses while the agent's member key exists. A live agent decides from its
// blocks without asking etcd, so evicting one that is alive but cut off from etcd for longer
// than its lease releases units it may still grant: evict only agents known to be dead.
package pool
