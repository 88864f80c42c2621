// libnftnl (nftables objects encoded as netlink on libmnl) and the kernel's nf_tables headers,
// for ContainNetwork's firewall. Kernel constants come from these headers.
#include <stdint.h>
#include <netinet/in.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>     /* RTN_LOCAL, for fib daddr type local */
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <libnftnl/common.h>
#include <libnftnl/table.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/expr.h>
