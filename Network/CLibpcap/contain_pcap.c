// libpcap through dlopen: see include/contain_pcap.h for why it is not linked.
#include "contain_pcap.h"

#include <dlfcn.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The functions used, typed by pcap.h's own declarations.
#define PCAP_FUNCTIONS(X) \
    X(pcap_create) X(pcap_set_snaplen) X(pcap_set_promisc) X(pcap_set_immediate_mode) X(pcap_set_timeout) \
    X(pcap_activate) X(pcap_setnonblock) X(pcap_compile) X(pcap_setfilter) X(pcap_freecode) \
    X(pcap_geterr) X(pcap_statustostr) X(pcap_get_selectable_fd) X(pcap_datalink) \
    X(pcap_next_ex) X(pcap_stats) X(pcap_close) X(pcap_open_dead) X(pcap_dump_open) \
    X(pcap_dump) X(pcap_dump_flush) X(pcap_dump_close) X(pcap_lib_version)

static struct {
#define FIELD(name) __typeof__(name) *name;
    PCAP_FUNCTIONS(FIELD)
#undef FIELD
} pcap;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[256];
static int load_status = CONTAIN_PCAP_UNAVAILABLE;

static void put(char *error, size_t size, const char *message) {
    if (size > 0) snprintf(error, size, "%s", message);
}

static void load(void) {
    // Debian's runtime package (libpcap0.8) installs libpcap.so.0.8; other systems name it .so.1,
    // and the -dev package adds the unversioned link.
    static const char *const names[] = {"libpcap.so.0.8", "libpcap.so.1", "libpcap.so"};
    void *library = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && library == NULL; i++) {
        library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    }
    if (library == NULL) {
        snprintf(load_error, sizeof load_error, "libpcap is not installed (Debian: apt-get install libpcap0.8): %s", dlerror());
        return;
    }
#define RESOLVE(name) \
    if ((pcap.name = (__typeof__(name) *)dlsym(library, #name)) == NULL) { \
        snprintf(load_error, sizeof load_error, "libpcap lacks %s (version 1.5 or later is needed)", #name); \
        return; \
    }
    PCAP_FUNCTIONS(RESOLVE)
#undef RESOLVE
    load_status = 0;
}

int contain_pcap_load(char *error, size_t size) {
    pthread_once(&load_once, load);
    if (load_status != 0) put(error, size, load_error);
    return load_status;
}

const char *contain_pcap_version(void) {
    return load_status == 0 ? pcap.pcap_lib_version() : "";
}

static int compile(pcap_t *handle, const char *filter, struct bpf_program *program, char *error, size_t size) {
    if (pcap.pcap_compile(handle, program, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        put(error, size, pcap.pcap_geterr(handle));
        return CONTAIN_PCAP_BAD_FILTER;
    }
    return 0;
}

int contain_pcap_check_filter(const char *filter, int link_type, char *error, size_t size) {
    int status = contain_pcap_load(error, size);
    if (status != 0) return status;
    pcap_t *dead = pcap.pcap_open_dead(link_type, 65535);
    if (dead == NULL) {
        put(error, size, "libpcap could not start");
        return CONTAIN_PCAP_FAILED;
    }
    struct bpf_program program;
    status = compile(dead, filter, &program, error, size);
    if (status == 0) pcap.pcap_freecode(&program);
    pcap.pcap_close(dead);
    return status;
}

struct contain_pcap_capture {
    pcap_t *handle;
};

contain_pcap_capture *contain_pcap_open(const char *interface, int snap_length, const char *filter,
                                        int *status, char *error, size_t size) {
    *status = contain_pcap_load(error, size);
    if (*status != 0) return NULL;
    char message[PCAP_ERRBUF_SIZE] = "";
    pcap_t *handle = pcap.pcap_create(interface, message);
    if (handle == NULL) {
        put(error, size, message);
        *status = CONTAIN_PCAP_FAILED;
        return NULL;
    }
    pcap.pcap_set_snaplen(handle, snap_length);
    pcap.pcap_set_promisc(handle, 1);          // as tcpdump: a bridge passes up what it forwards between ports only when promiscuous
    pcap.pcap_set_immediate_mode(handle, 1);
    pcap.pcap_set_timeout(handle, 100);
    int activated = pcap.pcap_activate(handle);
    if (activated < 0) {
        switch (activated) {
        case PCAP_ERROR_NO_SUCH_DEVICE: *status = CONTAIN_PCAP_NO_SUCH_DEVICE; break;
        case PCAP_ERROR_PERM_DENIED: *status = CONTAIN_PCAP_PERMISSION; break;
        case PCAP_ERROR_IFACE_NOT_UP: *status = CONTAIN_PCAP_INTERFACE_DOWN; break;
        default: *status = CONTAIN_PCAP_FAILED; break;
        }
        const char *detail = pcap.pcap_geterr(handle);
        put(error, size, detail[0] != '\0' ? detail : pcap.pcap_statustostr(activated));
        pcap.pcap_close(handle);
        return NULL;
    }
    if (pcap.pcap_setnonblock(handle, 1, message) != 0) {
        put(error, size, message);
        *status = CONTAIN_PCAP_FAILED;
        pcap.pcap_close(handle);
        return NULL;
    }
    if (filter != NULL) {
        struct bpf_program program;
        *status = compile(handle, filter, &program, error, size);
        if (*status == 0 && pcap.pcap_setfilter(handle, &program) != 0) {
            put(error, size, pcap.pcap_geterr(handle));
            *status = CONTAIN_PCAP_FAILED;
        }
        if (*status != CONTAIN_PCAP_BAD_FILTER) pcap.pcap_freecode(&program);
        if (*status != 0) {
            pcap.pcap_close(handle);
            return NULL;
        }
    }
    contain_pcap_capture *capture = malloc(sizeof *capture);
    if (capture == NULL) {
        put(error, size, strerror(ENOMEM));
        *status = CONTAIN_PCAP_FAILED;
        pcap.pcap_close(handle);
        return NULL;
    }
    capture->handle = handle;
    *status = 0;
    return capture;
}

int contain_pcap_fd(contain_pcap_capture *capture) {
    return pcap.pcap_get_selectable_fd(capture->handle);
}

int contain_pcap_link_type(contain_pcap_capture *capture) {
    return pcap.pcap_datalink(capture->handle);
}

int contain_pcap_next(contain_pcap_capture *capture, struct contain_pcap_packet *packet, char *error, size_t size) {
    struct pcap_pkthdr *header;
    const u_char *data;
    int status = pcap.pcap_next_ex(capture->handle, &header, &data);
    if (status == 1) {
        packet->seconds = header->ts.tv_sec;
        packet->microseconds = header->ts.tv_usec;
        packet->captured = header->caplen;
        packet->length = header->len;
        packet->data = data;
        return 1;
    }
    if (status == 0 || status == PCAP_ERROR_BREAK) return 0;
    put(error, size, pcap.pcap_geterr(capture->handle));
    return CONTAIN_PCAP_FAILED;
}

int contain_pcap_stats(contain_pcap_capture *capture, uint32_t *received, uint32_t *dropped) {
    struct pcap_stat counts;
    if (pcap.pcap_stats(capture->handle, &counts) != 0) return CONTAIN_PCAP_FAILED;
    *received = counts.ps_recv;
    *dropped = counts.ps_drop;
    return 0;
}

void contain_pcap_close(contain_pcap_capture *capture) {
    if (capture == NULL) return;
    pcap.pcap_close(capture->handle);
    free(capture);
}

struct contain_pcap_file {
    pcap_t *dead;
    pcap_dumper_t *dumper;
};

contain_pcap_file *contain_pcap_file_create(const char *path, int link_type, int snap_length, char *error, size_t size) {
    if (contain_pcap_load(error, size) != 0) return NULL;
    contain_pcap_file *file = calloc(1, sizeof *file);
    if (file == NULL) {
        put(error, size, strerror(ENOMEM));
        return NULL;
    }
    file->dead = pcap.pcap_open_dead(link_type, snap_length);
    if (file->dead == NULL) {
        put(error, size, "libpcap could not start");
        free(file);
        return NULL;
    }
    file->dumper = pcap.pcap_dump_open(file->dead, path);
    if (file->dumper == NULL) {
        // libpcap says "PATH: REASON"; the caller names the path itself.
        const char *detail = pcap.pcap_geterr(file->dead);
        size_t length = strlen(path);
        if (strncmp(detail, path, length) == 0 && strncmp(detail + length, ": ", 2) == 0) detail += length + 2;
        put(error, size, detail);
        pcap.pcap_close(file->dead);
        free(file);
        return NULL;
    }
    return file;
}

void contain_pcap_file_write(contain_pcap_file *file, const struct contain_pcap_packet *packet) {
    struct pcap_pkthdr header;
    memset(&header, 0, sizeof header);
    header.ts.tv_sec = (time_t)packet->seconds;
    header.ts.tv_usec = (suseconds_t)packet->microseconds;
    header.caplen = packet->captured;
    header.len = packet->length < packet->captured ? packet->captured : packet->length;
    pcap.pcap_dump((u_char *)file->dumper, &header, packet->data);
}

int contain_pcap_file_flush(contain_pcap_file *file) {
    return pcap.pcap_dump_flush(file->dumper) == 0 ? 0 : -1;
}

int contain_pcap_file_close(contain_pcap_file *file) {
    if (file == NULL) return 0;
    int status = contain_pcap_file_flush(file);
    int saved = errno;
    pcap.pcap_dump_close(file->dumper);
    pcap.pcap_close(file->dead);
    free(file);
    errno = saved;
    return status;
}
