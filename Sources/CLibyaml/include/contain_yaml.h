// libyaml, for `contain lab`: lab files are YAML, and libyaml (what Yams wraps too) reads them
// into a document of nodes, aliases resolved.
//
// libyaml is not linked: contain is one static binary that every container start runs, and
// YAML is read by one command only. A Swift YAML library would bring Foundation (and ICU, some
// 30 MB) into that binary; linking libyaml would make every contain process need it.
// contain_yaml_load() dlopens it the first time a lab file is read.
//
// The types here are contain's own and opaque: yaml.h stays inside contain_yaml.c.
#ifndef CONTAIN_YAML_H
#define CONTAIN_YAML_H

#include <stddef.h>
#include <stdint.h>

typedef struct contain_yaml_document contain_yaml_document;

// What went wrong, beside the message libyaml (or dlopen) wrote into `error`.
enum {
    CONTAIN_YAML_FAILED = -1,              // not YAML: libyaml's problem, at *line and *column
    CONTAIN_YAML_UNAVAILABLE = -2,         // libyaml could not be loaded
    CONTAIN_YAML_MORE_DOCUMENTS = -3,      // a second document starts at *line and *column
};

enum contain_yaml_kind {
    CONTAIN_YAML_SCALAR = 1,
    CONTAIN_YAML_SEQUENCE = 2,
    CONTAIN_YAML_MAPPING = 3,
};

// One node of a loaded document. Nodes are numbered from 1; an alias is the number of the node
// its anchor names, so the nodes form a graph (a cycle, even: `&a [*a]`), not a tree.
struct contain_yaml_node {
    enum contain_yaml_kind kind;
    size_t line;              // where the node starts, from 1
    size_t column;            // from 1, in characters
    int plain;                // a scalar without quotes or block indicator
    const uint8_t *value;     // a scalar's text, UTF-8, not terminated (may hold NUL)
    size_t length;
    size_t count;             // a sequence's items, a mapping's pairs
};

// Loads libyaml once (later calls return the first outcome). 0, or CONTAIN_YAML_UNAVAILABLE
// with dlopen's reason in `error`.
int contain_yaml_load_library(char *error, size_t size);

// Reads `text` (`length` bytes) as one YAML document. 0 with *document set (NULL for a stream
// without a document: empty, or only comments), or one of the codes above. *line and *column
// (from 1) place a problem, 0 when there is no place.
int contain_yaml_load(const uint8_t *text, size_t length, contain_yaml_document **document,
                      size_t *line, size_t *column, char *error, size_t size);
void contain_yaml_free(contain_yaml_document *document);

// The number of nodes, and the root's number.
int contain_yaml_node_count(contain_yaml_document *document);
int contain_yaml_root(contain_yaml_document *document);
// 0, or -1 for a number out of range. Valid until contain_yaml_free.
int contain_yaml_node(contain_yaml_document *document, int index, struct contain_yaml_node *node);
// A sequence's item `position` (from 0): a node's number, 0 when out of range.
int contain_yaml_item(contain_yaml_document *document, int index, size_t position);
// A mapping's pair `position` (from 0): 0 with its key's and value's numbers, -1 when out of range.
int contain_yaml_pair(contain_yaml_document *document, int index, size_t position, int *key, int *value);

#endif
