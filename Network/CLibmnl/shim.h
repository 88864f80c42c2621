// libmnl and the kernel's netlink headers, for ContainNetwork. Kernel constants come from
// these headers; none is re-declared by hand.
#include <netinet/in.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/veth.h>
#include <linux/pkt_sched.h>   /* tc: qdisc kinds' options (netem, tbf), TC_H_ROOT */
#include <net/if.h>
#include <linux/if.h>   /* after <net/if.h>: its libc-compat guards keep only what glibc lacks (IF_OPER_*) */

// MNL_SOCKET_BUFFER_SIZE is a function-like macro expression and does not import.
static inline unsigned long cmnl_socket_buffer_size(void) { return MNL_SOCKET_BUFFER_SIZE; }
