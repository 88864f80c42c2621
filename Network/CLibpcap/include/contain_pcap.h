// libpcap, for `contain net capture`: live capture on a packet socket, filters in tcpdump's
// syntax (compiled by libpcap into classic BPF, run in the kernel) and pcap files.
//
// libpcap is not linked: linking it would load it and the nine libraries it needs (libdbus,
// libsystemd, libgcrypt...) into every contain process, container starts included, for a
// command few of them run. contain_pcap_load() dlopens it the first time capture is asked for.
//
// The types here are contain's own and opaque: pcap's headers stay inside contain_pcap.c.
// (Classic BPF's `struct bpf_insn` in pcap/bpf.h and eBPF's in linux/bpf.h, which the C shim
// includes for the cgroup device program, share a tag but not a layout; Swift could not import
// both.)
#ifndef CONTAIN_PCAP_H
#define CONTAIN_PCAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct contain_pcap_capture contain_pcap_capture;
typedef struct contain_pcap_file contain_pcap_file;

struct contain_pcap_packet {
    int64_t seconds;
    int64_t microseconds;
    uint32_t captured;     // bytes at data (the snapshot length may have cut the frame)
    uint32_t length;       // bytes on the wire
    const uint8_t *data;   // valid until the next contain_pcap_next or contain_pcap_close
};

// What went wrong, beside the message libpcap (or dlopen) wrote into `error`.
enum {
    CONTAIN_PCAP_FAILED = -1,
    CONTAIN_PCAP_UNAVAILABLE = -2,      // libpcap could not be loaded
    CONTAIN_PCAP_NO_SUCH_DEVICE = -3,
    CONTAIN_PCAP_PERMISSION = -4,       // capture needs CAP_NET_RAW
    CONTAIN_PCAP_INTERFACE_DOWN = -5,
    CONTAIN_PCAP_BAD_FILTER = -6,
};

// Loads libpcap once (later calls return the first outcome). 0, or CONTAIN_PCAP_UNAVAILABLE
// with dlopen's reason in `error`.
int contain_pcap_load(char *error, size_t size);

// libpcap's version string ("libpcap version 1.10.3 ..."); "" when not loaded.
const char *contain_pcap_version(void);

// Compiles `filter` for frames of `link_type` without capturing: 0, or
// CONTAIN_PCAP_BAD_FILTER with libpcap's reason.
int contain_pcap_check_filter(const char *filter, int link_type, char *error, size_t size);

// Opens a live capture on `interface` (in the calling thread's network namespace): every packet
// as it arrives (immediate mode), non-blocking, with `filter` (may be NULL) installed. NULL on
// failure, with *status one of the codes above.
contain_pcap_capture *contain_pcap_open(const char *interface, int snap_length, const char *filter,
                                        int *status, char *error, size_t size);
// A descriptor that polls readable when packets wait.
int contain_pcap_fd(contain_pcap_capture *capture);
int contain_pcap_link_type(contain_pcap_capture *capture);
// 1 with a packet, 0 when none is waiting, CONTAIN_PCAP_FAILED when the capture broke (its
// interface was deleted, for one).
int contain_pcap_next(contain_pcap_capture *capture, struct contain_pcap_packet *packet, char *error, size_t size);
// Packets the kernel passed the filter, and those it dropped for want of buffer space.
int contain_pcap_stats(contain_pcap_capture *capture, uint32_t *received, uint32_t *dropped);
void contain_pcap_close(contain_pcap_capture *capture);

// A pcap file as tcpdump -w writes it (created or truncated; "-" is standard output).
contain_pcap_file *contain_pcap_file_create(const char *path, int link_type, int snap_length, char *error, size_t size);
void contain_pcap_file_write(contain_pcap_file *file, const struct contain_pcap_packet *packet);
// 0, or -1 with errno set (a full disk, a closed pipe).
int contain_pcap_file_flush(contain_pcap_file *file);
int contain_pcap_file_close(contain_pcap_file *file);

#endif
