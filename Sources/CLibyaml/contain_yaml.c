// libyaml through dlopen: see include/contain_yaml.h for why it is not linked.
#include "contain_yaml.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

// The functions used, typed by yaml.h's own declarations.
#define YAML_FUNCTIONS(X) \
    X(yaml_parser_initialize) X(yaml_parser_set_input_string) X(yaml_parser_load) X(yaml_parser_delete) \
    X(yaml_document_get_root_node) X(yaml_document_get_node) X(yaml_document_delete)

static struct {
#define FIELD(name) __typeof__(name) *name;
    YAML_FUNCTIONS(FIELD)
#undef FIELD
} yaml;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[256];
static int load_status = CONTAIN_YAML_UNAVAILABLE;

static void put(char *error, size_t size, const char *message) {
    if (size > 0) snprintf(error, size, "%s", message);
}

static void load(void) {
    // Debian's runtime package (libyaml-0-2) installs libyaml-0.so.2; the -dev package adds the
    // unversioned link.
    static const char *const names[] = {"libyaml-0.so.2", "libyaml.so"};
    void *library = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && library == NULL; i++) {
        library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    }
    if (library == NULL) {
        snprintf(load_error, sizeof load_error, "libyaml is not installed (Debian: apt-get install libyaml-0-2): %s", dlerror());
        return;
    }
#define RESOLVE(name) \
    if ((yaml.name = (__typeof__(name) *)dlsym(library, #name)) == NULL) { \
        snprintf(load_error, sizeof load_error, "libyaml lacks %s", #name); \
        return; \
    }
    YAML_FUNCTIONS(RESOLVE)
#undef RESOLVE
    load_status = 0;
}

int contain_yaml_load_library(char *error, size_t size) {
    pthread_once(&load_once, load);
    if (load_status != 0) put(error, size, load_error);
    return load_status;
}

struct contain_yaml_document {
    yaml_document_t document;
};

// The line and column (from 1, in characters) of byte `offset`: libyaml places a problem in the
// input's bytes (invalid UTF-8, a control character) by offset only.
static void place(const uint8_t *text, size_t length, size_t offset, size_t *line, size_t *column) {
    *line = 1;
    *column = 1;
    for (size_t i = 0; i < offset && i < length; i++) {
        if (text[i] == '\n' || (text[i] == '\r' && (i + 1 >= length || text[i + 1] != '\n'))) {
            *line += 1;
            *column = 1;
        } else if ((text[i] & 0xC0) != 0x80 && text[i] != '\r') {
            *column += 1;
        }
    }
}

// libyaml's problem, with its context when it gives one ("while scanning a simple key" and
// where that began).
static void describe(const yaml_parser_t *parser, const uint8_t *text, size_t length,
                     size_t *line, size_t *column, char *error, size_t size) {
    const char *problem = parser->problem != NULL ? parser->problem : "libyaml failed";
    if (parser->error == YAML_MEMORY_ERROR) problem = "libyaml ran out of memory";
    if (parser->error == YAML_READER_ERROR) {
        place(text, length, parser->problem_offset, line, column);
        if (parser->problem_value != -1) {
            snprintf(error, size, "%s (#x%X)", problem, (unsigned)parser->problem_value);
        } else {
            put(error, size, problem);
        }
        return;
    }
    *line = parser->problem_mark.line + 1;
    *column = parser->problem_mark.column + 1;
    const char *context = parser->context;
    size_t context_line = parser->context_mark.line + 1, context_column = parser->context_mark.column + 1;
    if (context != NULL && strcmp(problem, "second occurrence") == 0 &&
        strncmp(context, "found duplicate anchor", strlen("found duplicate anchor")) == 0) {
        snprintf(error, size, "duplicate anchor (first at line %zu, column %zu)", context_line, context_column);
    } else if (context != NULL) {
        snprintf(error, size, "%s (%s at line %zu, column %zu)", problem, context, context_line, context_column);
    } else {
        put(error, size, problem);
    }
}

int contain_yaml_load(const uint8_t *text, size_t length, contain_yaml_document **document,
                      size_t *line, size_t *column, char *error, size_t size) {
    *document = NULL;
    *line = 0;
    *column = 0;
    int status = contain_yaml_load_library(error, size);
    if (status != 0) return status;
    contain_yaml_document *loaded = calloc(1, sizeof *loaded);
    yaml_parser_t parser;
    if (loaded == NULL || !yaml.yaml_parser_initialize(&parser)) {
        put(error, size, "libyaml ran out of memory");
        free(loaded);
        return CONTAIN_YAML_FAILED;
    }
    yaml.yaml_parser_set_input_string(&parser, text != NULL ? text : (const uint8_t *)"", length);
    if (!yaml.yaml_parser_load(&parser, &loaded->document)) {
        // The loader deleted the document it had begun.
        describe(&parser, text, length, line, column, error, size);
        free(loaded);
        yaml.yaml_parser_delete(&parser);
        return CONTAIN_YAML_FAILED;
    }
    if (yaml.yaml_document_get_root_node(&loaded->document) == NULL) {
        // The stream ended without a document.
        contain_yaml_free(loaded);
        yaml.yaml_parser_delete(&parser);
        return 0;
    }
    // Anything after the first document is either the stream's end (an empty document) or a
    // second document, refused.
    yaml_document_t next;
    if (!yaml.yaml_parser_load(&parser, &next)) {
        describe(&parser, text, length, line, column, error, size);
        status = CONTAIN_YAML_FAILED;
    } else {
        if (yaml.yaml_document_get_root_node(&next) != NULL) {
            *line = next.start_mark.line + 1;
            *column = next.start_mark.column + 1;
            put(error, size, "more than one document");
            status = CONTAIN_YAML_MORE_DOCUMENTS;
        }
        yaml.yaml_document_delete(&next);
    }
    yaml.yaml_parser_delete(&parser);
    if (status != 0) {
        contain_yaml_free(loaded);
        return status;
    }
    *document = loaded;
    return 0;
}

void contain_yaml_free(contain_yaml_document *document) {
    if (document == NULL) return;
    yaml.yaml_document_delete(&document->document);
    free(document);
}

int contain_yaml_node_count(contain_yaml_document *document) {
    return (int)(document->document.nodes.top - document->document.nodes.start);
}

int contain_yaml_root(contain_yaml_document *document) {
    yaml_node_t *root = yaml.yaml_document_get_root_node(&document->document);
    return root == NULL ? 0 : (int)(root - document->document.nodes.start) + 1;
}

int contain_yaml_node(contain_yaml_document *document, int index, struct contain_yaml_node *node) {
    yaml_node_t *found = yaml.yaml_document_get_node(&document->document, index);
    if (found == NULL) return -1;
    memset(node, 0, sizeof *node);
    node->line = found->start_mark.line + 1;
    node->column = found->start_mark.column + 1;
    switch (found->type) {
    case YAML_SCALAR_NODE:
        node->kind = CONTAIN_YAML_SCALAR;
        node->plain = found->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        node->value = found->data.scalar.value;
        node->length = found->data.scalar.length;
        return 0;
    case YAML_SEQUENCE_NODE:
        node->kind = CONTAIN_YAML_SEQUENCE;
        node->count = (size_t)(found->data.sequence.items.top - found->data.sequence.items.start);
        return 0;
    case YAML_MAPPING_NODE:
        node->kind = CONTAIN_YAML_MAPPING;
        node->count = (size_t)(found->data.mapping.pairs.top - found->data.mapping.pairs.start);
        return 0;
    default:
        return -1;
    }
}

int contain_yaml_item(contain_yaml_document *document, int index, size_t position) {
    yaml_node_t *found = yaml.yaml_document_get_node(&document->document, index);
    if (found == NULL || found->type != YAML_SEQUENCE_NODE) return 0;
    if (position >= (size_t)(found->data.sequence.items.top - found->data.sequence.items.start)) return 0;
    return found->data.sequence.items.start[position];
}

int contain_yaml_pair(contain_yaml_document *document, int index, size_t position, int *key, int *value) {
    yaml_node_t *found = yaml.yaml_document_get_node(&document->document, index);
    if (found == NULL || found->type != YAML_MAPPING_NODE) return -1;
    if (position >= (size_t)(found->data.mapping.pairs.top - found->data.mapping.pairs.start)) return -1;
    *key = found->data.mapping.pairs.start[position].key;
    *value = found->data.mapping.pairs.start[position].value;
    return 0;
}
