/* One pass from n-gram occurrences to each text's share of the themes' log-odds.

   The NumPy path counts a text's distinct n-grams with a sort of all the batch's keys, then
   weighs, normalises and multiplies in several more array passes; for the hundreds of
   character n-grams of a sentence that is most of the predictor's time. Here each text's
   occurrences are counted in a small hash table and weighed, normalised and multiplied in
   the same loop, as scikit-learn's TfidfVectorizer followed by a dot product would. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { NORM_NONE = 0, NORM_L1 = 1, NORM_L2 = 2 };

/* The i-th value of a 1-D buffer of int64 or uint32 (the two index types the runtime makes). */
static inline int64_t index_at(const Py_buffer *b, Py_ssize_t i) {
    return b->itemsize == 8 ? ((const int64_t *)b->buf)[i] : (int64_t)((const uint32_t *)b->buf)[i];
}

static int index_buffer(PyObject *obj, Py_buffer *view, const char *name) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    const char *f = view->format;
    int ok = view->ndim == 1 && ((view->itemsize == 8 && (f[0] == 'q' || f[0] == 'l')) ||
                                 (view->itemsize == 4 && (f[0] == 'I' || (f[0] == 'L' && sizeof(long) == 4))));
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%s must be a 1-D int64 or uint32 array", name);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static int float_buffer(PyObject *obj, Py_buffer *view, int writable, int ndim, const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return -1;
    if (view->ndim != ndim || view->itemsize != 8 || view->format[0] != 'd') {
        PyErr_Format(PyExc_TypeError, "%s must be a C-contiguous %d-D float64 array", name, ndim);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* How a block weighs a text's distinct n-grams, and where it adds each text's share. */
typedef struct {
    const double *rows; /* width x (1 + n_themes): per column its idf (or 1), then its coef row, */
    Py_ssize_t width, n_themes;  /* side by side: one cache line or two for what an n-gram needs */
    int sublinear, binary, norm;
    double *out;        /* n_texts x n_themes */
} Weights;

/* A text's distinct columns and their counts: open addressing, emptied after each text.
   Columns are below 2**32 - 1 (weights_from checks the width), so a slot is 8 bytes. */
#define EMPTY UINT32_MAX

typedef struct {
    uint32_t column, count;
} Slot;

typedef struct {
    Slot *slots;
    uint32_t *used;     /* the slots taken, in order */
    Py_ssize_t distinct;
    uint32_t mask;
    unsigned shift;
    double *sums;
} Table;

static int table_open(Table *t, Py_ssize_t longest, Py_ssize_t n_themes) {
    unsigned bits = 4;
    while (((Py_ssize_t)1 << bits) < 2 * longest)
        bits++;
    if (bits > 31)
        return -1;
    size_t capacity = (size_t)1 << bits;
    t->slots = malloc(capacity * sizeof(Slot));
    t->used = malloc((size_t)(longest ? longest : 1) * sizeof(uint32_t));
    t->sums = malloc((size_t)n_themes * sizeof(double));
    if (!t->slots || !t->used || !t->sums)
        return -1;
    for (size_t s = 0; s < capacity; s++)
        t->slots[s].column = EMPTY;
    t->distinct = 0;
    t->mask = (uint32_t)(capacity - 1);
    t->shift = 32 - bits;
    return 0;
}

static void table_close(Table *t) {
    free(t->slots);
    free(t->used);
    free(t->sums);
}

static inline void table_add(Table *t, uint32_t column) {
    uint32_t s = (column * 0x9E3779B1u) >> t->shift;
    Slot *slots = t->slots;
    while (slots[s].column != column && slots[s].column != EMPTY)
        s = (s + 1) & t->mask;
    if (slots[s].column == EMPTY) {
        slots[s].column = column;
        slots[s].count = 0;
        t->used[t->distinct++] = s;
    }
    slots[s].count++;
}

/* value * row, added to sums, for n themes; four (this project's count) unrolled. */
static inline void add_row(double *sums, const double *row, double value, Py_ssize_t n) {
    if (n == 4) {
        sums[0] += value * row[0];
        sums[1] += value * row[1];
        sums[2] += value * row[2];
        sums[3] += value * row[3];
        return;
    }
    for (Py_ssize_t k = 0; k < n; k++)
        sums[k] += value * row[k];
}

/* Adds the text's share to out[text], as TfidfVectorizer's row times coef, and empties the table. */
static void table_flush(Table *t, const Weights *w, Py_ssize_t text) {
    if (!t->distinct)
        return;
    const Py_ssize_t n_themes = w->n_themes, stride = n_themes + 1, distinct = t->distinct;
    const double *rows = w->rows;
    const int binary = w->binary, sublinear = w->sublinear, l2 = w->norm == NORM_L2;
    double total = 0.0, *sums = t->sums;
    for (Py_ssize_t k = 0; k < n_themes; k++)
        sums[k] = 0.0;
    /* the weights of a large vocabulary are mostly out of cache: ask for them all first */
    for (Py_ssize_t d = 0; d < distinct; d++) {
        const double *row = rows + (Py_ssize_t)t->slots[t->used[d]].column * stride;
        __builtin_prefetch(row);
        __builtin_prefetch(row + n_themes);
    }
    for (Py_ssize_t d = 0; d < distinct; d++) {
        Slot *slot = &t->slots[t->used[d]];
        const double *row = rows + (Py_ssize_t)slot->column * stride;
        uint32_t count = slot->count;
        slot->column = EMPTY;
        /* log(1) is 0: most n-grams of a sentence occur once */
        double value = (binary || count == 1 ? 1.0 : sublinear ? 1.0 + log((double)count) : (double)count) * row[0];
        total += l2 ? value * value : fabs(value);
        add_row(sums, row + 1, value, n_themes);
    }
    t->distinct = 0;
    double scale = l2 ? sqrt(total) : w->norm == NORM_L1 ? total : 1.0;
    if (scale == 0.0)
        scale = 1.0;
    double *out = w->out + text * n_themes;
    for (Py_ssize_t k = 0; k < n_themes; k++)
        out[k] += sums[k] / scale;
}

/* The end of each add_*: the table freed, and "out of memory" for a failure given no reason. */
static int finished(int status, Table *t, const char **error) {
    if (status < 0 && !*error)
        *error = "out of memory";
    table_close(t);
    return status;
}

/* Occurrences as (rows[k], cols[k]) pairs, in any order (rows NULL: all of one text); a
   negative column is an n-gram out of the vocabulary, skipped.
   Returns 0, or -1 with *error set (nothing is added then). */
static int add_pairs(const Py_buffer *rows, const Py_buffer *cols, Py_ssize_t n_texts, const Weights *w,
                     const char **error) {
    Py_ssize_t n = cols->shape[0];
    Py_ssize_t *starts = calloc((size_t)n_texts + 1, sizeof(Py_ssize_t));
    Py_ssize_t *order = NULL;  /* occurrences text after text; NULL: they already come so */
    Table t = {0};
    int status = -1;
    if (!starts)
        goto done;
    int sorted = 1;
    for (Py_ssize_t k = 0; k < n; k++) {
        int64_t row = rows ? index_at(rows, k) : 0, column = index_at(cols, k);
        if (row < 0 || row >= n_texts || column >= w->width) {
            *error = "an occurrence's row or column is out of range";
            goto done;
        }
        if (k && row < (rows ? index_at(rows, k - 1) : 0))
            sorted = 0;
        starts[row + 1]++;
    }
    Py_ssize_t longest = 0;
    for (Py_ssize_t i = 0; i < n_texts; i++) {
        if (starts[i + 1] > longest)
            longest = starts[i + 1];
        starts[i + 1] += starts[i];
    }
    if (!sorted) {  /* a counting sort by row */
        Py_ssize_t *next = malloc((size_t)n_texts * sizeof(Py_ssize_t));
        order = malloc((size_t)n * sizeof(Py_ssize_t));
        if (!next || !order) {
            free(next);
            goto done;
        }
        memcpy(next, starts, (size_t)n_texts * sizeof(Py_ssize_t));
        for (Py_ssize_t k = 0; k < n; k++)
            order[next[index_at(rows, k)]++] = k;
        free(next);
    }
    if (table_open(&t, longest, w->n_themes) < 0)
        goto done;
    for (Py_ssize_t i = 0; i < n_texts; i++) {
        for (Py_ssize_t k = starts[i]; k < starts[i + 1]; k++) {
            int64_t column = index_at(cols, order ? order[k] : k);
            if (column >= 0)
                table_add(&t, (uint32_t)column);
        }
        table_flush(&t, w, i);
    }
    status = 0;
done:
    free(starts);
    free(order);
    return finished(status, &t, error);
}

/* Occurrences as runs of a flat array of columns: text i's are flat[bounds[u]:bounds[u + 1]]
   for each of its counts[i] places u, taken in turn from places. Returns 0, or -1 with *error
   set (out is then partly added to). */
static int add_runs(const int64_t *places, const Py_ssize_t *counts, Py_ssize_t n_texts, const Py_buffer *bounds,
                    const Py_buffer *flat, const Weights *w, const char **error) {
    Py_ssize_t n_known = bounds->shape[0] - 1, n_flat = flat->shape[0], longest = 0, j = 0;
    const int64_t *bound = bounds->buf;
    const uint32_t *flat32 = flat->itemsize == 4 ? flat->buf : NULL;  /* the word cache's type, read directly */
    Table t = {0};
    int status = -1;
    for (Py_ssize_t i = 0; i < n_texts; i++) {  /* check the places before reading through them */
        int64_t length = 0;
        for (Py_ssize_t end = j + counts[i]; j < end; j++) {
            int64_t u = places[j];
            if (u < 0 || u >= n_known || bound[u] < 0 || bound[u] > bound[u + 1] || bound[u + 1] > n_flat) {
                *error = "a word's place or bounds are out of range";
                goto done;
            }
            length += bound[u + 1] - bound[u];
        }
        if (length > longest)
            longest = length;
    }
    if (table_open(&t, longest, w->n_themes) < 0)
        goto done;
    j = 0;
    for (Py_ssize_t i = 0; i < n_texts; i++) {
        for (Py_ssize_t end = j + counts[i]; j < end; j++) {
            int64_t u = places[j];
            for (int64_t k = bound[u]; k < bound[u + 1]; k++) {
                int64_t column = flat32 ? (int64_t)flat32[k] : index_at(flat, k);
                if (column < 0 || column >= w->width) {  /* the caller discards out on an error */
                    *error = "a column is out of range";
                    goto done;
                }
                table_add(&t, (uint32_t)column);
            }
        }
        table_flush(&t, w, i);
    }
    status = 0;
done:
    return finished(status, &t, error);
}

/* Word n-gram vocabularies: a term's column found from its tokens, with no string made.

   A term's hash is a polynomial in its code points, so the hash of "a b" follows from the
   hashes and lengths of "a" and "b": a text's n-grams are hashed from its tokens' hashes.
   A hash found in the table is checked against the term itself, so that a collision can
   cost time but never give a wrong column. */

#define HASH_BASE 0x100000001b3ull  /* odd; arithmetic modulo 2**64 */

typedef struct {
    uint64_t hash;
    int64_t column;     /* -1: an empty slot */
    PyObject *term;     /* a hit is checked against it */
} Entry;

typedef struct {
    PyObject_HEAD
    PyObject *terms;    /* a tuple of the terms, which owns them */
    Entry *entries;
    Py_ssize_t mask;
    unsigned shift;
} TermTable;

/* A token: code points [start, start + length) of a str's data. */
typedef struct {
    const void *data;
    Py_ssize_t start, length;
    int kind;
} Span;

static inline Span span_of(PyObject *s) {
    return (Span){PyUnicode_DATA(s), 0, PyUnicode_GET_LENGTH(s), PyUnicode_KIND(s)};
}

/* The hash of a span, and HASH_BASE to the power of its length. */
static inline uint64_t span_hash(const Span *s, uint64_t *power) {
    uint64_t h = 0, p = 1;
    for (Py_ssize_t i = s->start, end = s->start + s->length; i < end; i++) {
        h = h * HASH_BASE + (uint64_t)PyUnicode_READ(s->kind, s->data, i) + 1;  /* +1: a NUL counts too */
        p *= HASH_BASE;
    }
    *power = p;
    return h;
}

static inline Py_ssize_t slot_of(unsigned shift, uint64_t h) {
    return (Py_ssize_t)(((h ^ (h >> 31)) * 0x9E3779B97F4A7C15ull) >> shift);
}

/* Whether term equals tokens[0..n) joined by single spaces. */
static int term_is(PyObject *term, const Span *tokens, Py_ssize_t n) {
    Py_ssize_t length = n - 1;
    for (Py_ssize_t i = 0; i < n; i++)
        length += tokens[i].length;
    if (PyUnicode_GET_LENGTH(term) != length)
        return 0;
    int kind = PyUnicode_KIND(term);
    const void *data = PyUnicode_DATA(term);
    Py_ssize_t at = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i && PyUnicode_READ(kind, data, at++) != ' ')
            return 0;
        const Span *token = &tokens[i];
        for (Py_ssize_t k = token->start, end = token->start + token->length; k < end; k++)
            if (PyUnicode_READ(kind, data, at++) != PyUnicode_READ(token->kind, token->data, k))
                return 0;
    }
    return 1;
}

/* From slot s on, the first slot that holds hash h, or an empty one. */
static inline Py_ssize_t probe(const TermTable *t, Py_ssize_t s, uint64_t h) {
    while (t->entries[s].column >= 0 && t->entries[s].hash != h)
        s = (s + 1) & t->mask;
    return s;
}

static void term_table_dealloc(TermTable *self) {
    Py_XDECREF(self->terms);
    PyMem_Free(self->entries);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *term_table_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"terms", NULL};
    PyObject *terms;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!:TermTable", names, &PyList_Type, &terms))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(terms);
    for (Py_ssize_t i = 0; i < n; i++)
        if (!PyUnicode_Check(PyList_GET_ITEM(terms, i)))
            return PyErr_Format(PyExc_TypeError, "term %zd is not a str", i);
    TermTable *self = (TermTable *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    unsigned bits = 4;
    while (((Py_ssize_t)1 << bits) < n + n / 2)  /* at most two thirds full */
        bits++;
    Py_ssize_t capacity = (Py_ssize_t)1 << bits;
    self->terms = PyList_AsTuple(terms);  /* an immutable copy owns the terms the entries point to */
    self->entries = PyMem_Malloc((size_t)capacity * sizeof(Entry));
    self->mask = capacity - 1;
    self->shift = 64 - bits;
    if (!self->terms || !self->entries) {
        int copied = self->terms != NULL;
        Py_DECREF(self);
        return copied ? PyErr_NoMemory() : NULL;
    }
    for (Py_ssize_t s = 0; s < capacity; s++)
        self->entries[s].column = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *term = PyTuple_GET_ITEM(self->terms, i);
        Span whole = span_of(term);
        uint64_t power, h = span_hash(&whole, &power);
        Py_ssize_t s = slot_of(self->shift, h);
        while (self->entries[s].column >= 0)
            s = (s + 1) & self->mask;
        self->entries[s] = (Entry){h, i, term};
    }
    return (PyObject *)self;
}

static PyTypeObject TermTableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "train.runtime.kernel._tfidf.TermTable",
    .tp_basicsize = sizeof(TermTable),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "TermTable(terms)\n--\n\nThe columns of a word n-gram vocabulary (terms: its list of terms), "
              "for add_token_decisions.",
    .tp_new = term_table_new,
    .tp_dealloc = (destructor)term_table_dealloc,
};

/* Adds each text's share, given its tokens: texts one after another in spans, counts[i] of
   text i. The spans' strings must outlive the call (the caller holds them, and the GIL).

   A text's n-gram lookups are made in three passes, each asking for the memory the next
   reads (table slots, then terms): a large vocabulary is mostly out of cache, and waiting
   for each lookup in turn is most of the time otherwise. */
static int add_spans(const TermTable *table, const Span *spans, const Py_ssize_t *counts, Py_ssize_t n_texts,
                     Py_ssize_t min_n, Py_ssize_t max_n, const Weights *w, const char **error) {
    Py_ssize_t n_tokens = 0, longest = 0;  /* longest: the most n-grams a text has */
    for (Py_ssize_t i = 0; i < n_texts; i++) {
        Py_ssize_t count = counts[i], top = max_n < count ? max_n : count, sizes = top - min_n + 1;
        n_tokens += count;
        if (sizes > 0) {  /* (count - n + 1) n-grams of each size n from min_n to top */
            Py_ssize_t grams = sizes * (count + 1) - (min_n + top) * sizes / 2;
            if (grams > longest)
                longest = grams;
        }
    }
    Table t = {0};
    size_t some = (size_t)(n_tokens ? n_tokens : 1), grams = (size_t)(longest ? longest : 1);
    uint64_t *hashes = malloc(some * sizeof(uint64_t)), *powers = malloc(some * sizeof(uint64_t));
    uint64_t *gram_hash = malloc(grams * sizeof(uint64_t));  /* per n-gram of a text: its hash, */
    Py_ssize_t *gram_first = malloc(grams * sizeof(Py_ssize_t)), *gram_n = malloc(grams * sizeof(Py_ssize_t));
    Py_ssize_t *gram_slot = malloc(grams * sizeof(Py_ssize_t));  /* first token, length and slot */
    int status = -1;
    if (!hashes || !powers || !gram_hash || !gram_first || !gram_n || !gram_slot ||
        table_open(&t, longest, w->n_themes) < 0)
        goto done;
    for (Py_ssize_t k = 0; k < n_tokens; k++)
        hashes[k] = span_hash(&spans[k], &powers[k]);
    const uint64_t space = (uint64_t)' ' + 1;
    const Entry *entries = table->entries;
    for (Py_ssize_t i = 0, j = 0; i < n_texts; j += counts[i++]) {
        Py_ssize_t end = j + counts[i], found = 0;
        for (Py_ssize_t first = j; first < end; first++) {
            uint64_t h = 0;  /* of the n-gram tokens[first .. first + n) */
            for (Py_ssize_t n = 1; n <= max_n && first + n <= end; n++) {
                Py_ssize_t last = first + n - 1;
                h = n == 1 ? hashes[last] : (h * HASH_BASE + space) * powers[last] + hashes[last];
                if (n < min_n)
                    continue;
                Py_ssize_t s = slot_of(table->shift, h);
                __builtin_prefetch(&entries[s]);
                gram_hash[found] = h, gram_first[found] = first, gram_n[found] = n, gram_slot[found++] = s;
            }
        }
        for (Py_ssize_t g = 0; g < found; g++) {
            Py_ssize_t s = gram_slot[g] = probe(table, gram_slot[g], gram_hash[g]);
            if (entries[s].column >= 0)
                __builtin_prefetch(entries[s].term);
        }
        for (Py_ssize_t g = 0; g < found; g++)
            for (Py_ssize_t s = gram_slot[g]; entries[s].column >= 0;
                 s = probe(table, (s + 1) & table->mask, gram_hash[g]))
                if (term_is(entries[s].term, spans + gram_first[g], gram_n[g])) {
                    if (entries[s].column >= w->width) {
                        *error = "a term's column is out of range";
                        goto done;
                    }
                    table_add(&t, (uint32_t)entries[s].column);
                    break;
                }
        table_flush(&t, w, i);
    }
    status = 0;
done:
    free(hashes);
    free(powers);
    free(gram_hash);
    free(gram_first);
    free(gram_n);
    free(gram_slot);
    return finished(status, &t, error);
}

/* The tokens of a list of str, and how many each text has (per_text; NULL: all, of one text). */
static int spans_of_tokens(PyObject *tokens, const Py_buffer *per_text, Py_ssize_t n_texts, Span **spans,
                           Py_ssize_t **counts, const char **error) {
    Py_ssize_t n_tokens = PyList_GET_SIZE(tokens), total = 0;
    *spans = malloc((size_t)(n_tokens ? n_tokens : 1) * sizeof(Span));
    *counts = malloc((size_t)n_texts * sizeof(Py_ssize_t));
    if (!*spans || !*counts)
        return -1;
    for (Py_ssize_t i = 0; i < n_texts; i++) {
        int64_t count = per_text ? index_at(per_text, i) : n_tokens;
        if (count < 0 || count > n_tokens - total) {
            *error = "tokens_per_text does not add up to the tokens";
            return -1;
        }
        (*counts)[i] = (Py_ssize_t)count;
        total += count;
    }
    if (total != n_tokens) {
        *error = "tokens_per_text does not add up to the tokens";
        return -1;
    }
    for (Py_ssize_t k = 0; k < n_tokens; k++) {
        PyObject *token = PyList_GET_ITEM(tokens, k);
        if (!PyUnicode_Check(token)) {
            *error = "a token is not a str";
            return -1;
        }
        (*spans)[k] = span_of(token);
    }
    return 0;
}

/* Whether c is a word character of Python's re (\\w in a str pattern): alphanumeric or _. */
static inline int is_word_character(Py_UCS4 c) {
    if (c < 128)  /* the common case, without the Unicode database */
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    return Py_UNICODE_ISALNUM(c);
}

/* Whether c belongs in a run: a token's (words 0: a word character of Python's re, as in
   the token patterns) or a word's (words 1: anything but white space, as str.split() has it). */
static inline int in_run(Py_UCS4 c, int words) {
    return words ? !Py_UNICODE_ISSPACE(c) : is_word_character(c);
}

/* The runs of each text, of at least `shortest` characters: its tokens as scikit-learn's token
   patterns \b\w\w+\b (shortest 2) and \b\w+\b (shortest 1) find them, the maximal runs of
   word characters; or its words, as str.split() makes them. */
static int spans_of_texts(PyObject *texts, int words, Py_ssize_t shortest, Span **spans, Py_ssize_t **counts,
                          const char **error) {
    Py_ssize_t n_texts = PyList_GET_SIZE(texts), capacity = 64, n = 0;
    *spans = malloc((size_t)capacity * sizeof(Span));
    *counts = malloc((size_t)(n_texts ? n_texts : 1) * sizeof(Py_ssize_t));
    if (!*spans || !*counts)
        return -1;
    for (Py_ssize_t i = 0; i < n_texts; i++) {
        PyObject *text = PyList_GET_ITEM(texts, i);
        if (!PyUnicode_Check(text)) {
            *error = "a text is not a str";
            return -1;
        }
        int kind = PyUnicode_KIND(text);
        const void *data = PyUnicode_DATA(text);
        Py_ssize_t length = PyUnicode_GET_LENGTH(text), before = n;
        for (Py_ssize_t at = 0; at < length;) {
            if (!in_run(PyUnicode_READ(kind, data, at), words)) {
                at++;
                continue;
            }
            Py_ssize_t start = at;
            while (++at < length && in_run(PyUnicode_READ(kind, data, at), words))
                ;
            if (at - start < shortest)
                continue;
            if (n == capacity) {
                Span *grown = realloc(*spans, (size_t)(capacity *= 2) * sizeof(Span));
                if (!grown)
                    return -1;
                *spans = grown;
            }
            (*spans)[n++] = (Span){data, start, at - start, kind};
        }
        (*counts)[i] = n - before;
    }
    return 0;
}

/* The word cache's index for char_wb blocks: each word held, by its hash, to its place in the
   cache's flat arrays (kept by the Python cache, which learns the words this table lacks). */
typedef struct {
    PyObject_HEAD
    PyObject *words;    /* the words held, in place order: owns them */
    Entry *entries;     /* column: the word's place; term: the word */
    Py_ssize_t mask;
    unsigned shift;
} WordTable;

static int word_table_resize(WordTable *self, Py_ssize_t needed) {
    unsigned bits = 4;
    while (((Py_ssize_t)1 << bits) < needed + needed / 2)  /* at most two thirds full */
        bits++;
    Py_ssize_t capacity = (Py_ssize_t)1 << bits;
    if (self->entries && capacity == self->mask + 1)
        return 0;
    Entry *entries = PyMem_Malloc((size_t)capacity * sizeof(Entry));
    if (!entries) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t s = 0; s < capacity; s++)
        entries[s].column = -1;
    Py_ssize_t old_capacity = self->entries ? self->mask + 1 : 0;
    self->mask = capacity - 1;
    self->shift = 64 - bits;
    for (Py_ssize_t s = 0; s < old_capacity; s++)
        if (self->entries[s].column >= 0) {
            Py_ssize_t at = slot_of(self->shift, self->entries[s].hash);
            while (entries[at].column >= 0)
                at = (at + 1) & self->mask;
            entries[at] = self->entries[s];
        }
    PyMem_Free(self->entries);
    self->entries = entries;
    return 0;
}

static void word_table_dealloc(WordTable *self) {
    Py_XDECREF(self->words);
    PyMem_Free(self->entries);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *word_table_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    static char *names[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, ":WordTable", names))
        return NULL;
    WordTable *self = (WordTable *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    self->words = PyList_New(0);
    if (!self->words || word_table_resize(self, 0) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

/* add(words): hold the words, at the places after those held (a word held already is an error). */
static PyObject *word_table_add(WordTable *self, PyObject *words) {
    if (!PyList_Check(words))
        return PyErr_Format(PyExc_TypeError, "words must be a list of str");
    Py_ssize_t n = PyList_GET_SIZE(words), held = PyList_GET_SIZE(self->words);
    for (Py_ssize_t i = 0; i < n; i++)
        if (!PyUnicode_Check(PyList_GET_ITEM(words, i)))
            return PyErr_Format(PyExc_TypeError, "word %zd is not a str", i);
    if (word_table_resize(self, held + n) < 0)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *word = PyList_GET_ITEM(words, i);
        Span whole = span_of(word);
        uint64_t power, h = span_hash(&whole, &power);
        Py_ssize_t s = slot_of(self->shift, h);
        for (; self->entries[s].column >= 0; s = (s + 1) & self->mask)
            if (self->entries[s].hash == h && term_is(self->entries[s].term, &whole, 1)) {
                PyErr_Format(PyExc_ValueError, "the word %R is held already", word);
                return NULL;  /* the words before it stay held, at their places */
            }
        if (PyList_Append(self->words, word) < 0)
            return NULL;
        self->entries[s] = (Entry){h, PyList_GET_SIZE(self->words) - 1, word};
    }
    Py_RETURN_NONE;
}

static PyObject *word_table_clear(WordTable *self, PyObject *unused) {
    for (Py_ssize_t s = 0; s <= self->mask; s++)
        self->entries[s].column = -1;
    if (PyList_SetSlice(self->words, 0, PyList_GET_SIZE(self->words), NULL) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static Py_ssize_t word_table_len(WordTable *self) { return PyList_GET_SIZE(self->words); }

static PyMethodDef word_table_methods[] = {
    {"add", (PyCFunction)word_table_add, METH_O, "add(words)\n--\n\nHold the words, at the next places."},
    {"clear", (PyCFunction)word_table_clear, METH_NOARGS, "clear()\n--\n\nHold no word."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods word_table_sequence = {.sq_length = (lenfunc)word_table_len};

static PyTypeObject WordTableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "train.runtime.kernel._tfidf.WordTable",
    .tp_basicsize = sizeof(WordTable),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "WordTable()\n--\n\nThe words a char_wb word cache holds, each at its place, for add_word_run_decisions.",
    .tp_new = word_table_new,
    .tp_dealloc = (destructor)word_table_dealloc,
    .tp_methods = word_table_methods,
    .tp_as_sequence = &word_table_sequence,
};


/* The weights and out arguments, shared by the entry points; their buffers go in views[0..1]. */
static int weights_from(PyObject *weights_obj, PyObject *out_obj, int sublinear, int binary, int norm,
                        Py_buffer views[2], Weights *w) {
    if (norm < NORM_NONE || norm > NORM_L2) {
        PyErr_Format(PyExc_ValueError, "norm must be 0 (none), 1 (l1) or 2 (l2), got %d", norm);
        return -1;
    }
    if (float_buffer(weights_obj, &views[0], 0, 2, "weights") < 0)
        return -1;
    if (float_buffer(out_obj, &views[1], 1, 2, "out") < 0)
        return -1;
    w->rows = views[0].buf;
    w->width = views[0].shape[0];
    w->n_themes = views[0].shape[1] - 1;
    w->out = views[1].buf;
    w->sublinear = sublinear;
    w->binary = binary;
    w->norm = norm;
    if (w->width >= (Py_ssize_t)EMPTY) {
        PyErr_SetString(PyExc_ValueError, "weights has 2**32 - 1 rows or more");
        return -1;
    }
    if (w->n_themes < 1 || views[1].shape[1] != w->n_themes) {
        PyErr_SetString(PyExc_ValueError, "weights (an idf column, then one per theme) and out do not fit together");
        return -1;
    }
    return 0;
}

static void release(Py_buffer *views, int n) {
    for (int i = 0; i < n; i++)
        if (views[i].obj)
            PyBuffer_Release(&views[i]);
}

static PyObject *failed(const char *error) {
    PyErr_SetString(strcmp(error, "out of memory") ? PyExc_ValueError : PyExc_MemoryError, error);
    return NULL;
}

static PyObject *add_decisions(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"rows", "cols", "weights", "sublinear", "binary", "norm", "out", NULL};
    PyObject *rows_obj, *cols_obj, *weights_obj, *out_obj;
    int sublinear, binary, norm;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOppiO:add_decisions", names, &rows_obj, &cols_obj,
                                     &weights_obj, &sublinear, &binary, &norm, &out_obj))
        return NULL;
    Py_buffer views[4] = {{0}};  /* weights, out, rows, cols */
    Weights w;
    PyObject *result = NULL;
    if (weights_from(weights_obj, out_obj, sublinear, binary, norm, views, &w) < 0 ||
        (rows_obj != Py_None && index_buffer(rows_obj, &views[2], "rows") < 0) ||
        index_buffer(cols_obj, &views[3], "cols") < 0)
        goto release;
    Py_ssize_t n_texts = views[1].shape[0];
    if (rows_obj != Py_None ? views[2].shape[0] != views[3].shape[0] : n_texts != 1) {
        PyErr_SetString(PyExc_ValueError, "rows and cols differ in length, or out is not one row without rows");
        goto release;
    }
    const char *error = NULL;
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = add_pairs(rows_obj != Py_None ? &views[2] : NULL, &views[3], n_texts, &w, &error);
    Py_END_ALLOW_THREADS
    result = status < 0 ? failed(error) : Py_NewRef(Py_None);
release:
    release(views, 4);
    return result;
}

static PyObject *add_word_run_decisions(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"table", "texts", "bounds", "flat", "weights", "sublinear", "binary", "norm", "out",
                            NULL};
    PyObject *table_obj, *texts, *bounds_obj, *flat_obj, *weights_obj, *out_obj;
    int sublinear, binary, norm;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!OOOppiO:add_word_run_decisions", names, &WordTableType,
                                     &table_obj, &PyList_Type, &texts, &bounds_obj, &flat_obj, &weights_obj,
                                     &sublinear, &binary, &norm, &out_obj))
        return NULL;
    WordTable *table = (WordTable *)table_obj;
    Py_buffer views[4] = {{0}};  /* weights, out, bounds, flat */
    Weights w;
    PyObject *result = NULL, *missing = NULL;
    Span *spans = NULL;
    Py_ssize_t *counts = NULL;
    int64_t *places = NULL;
    if (weights_from(weights_obj, out_obj, sublinear, binary, norm, views, &w) < 0 ||
        index_buffer(bounds_obj, &views[2], "bounds") < 0 || index_buffer(flat_obj, &views[3], "flat") < 0)
        goto release;
    if (views[2].itemsize != 8 || views[2].shape[0] < 1 || PyList_GET_SIZE(texts) != views[1].shape[0]) {
        PyErr_SetString(PyExc_ValueError, "bounds must be int64 and not empty, and out have one row per text");
        goto release;
    }
    const char *error = NULL;
    if (spans_of_texts(texts, 1, 1, &spans, &counts, &error) < 0) {
        failed(error ? error : "out of memory");
        goto release;
    }
    Py_ssize_t n_words = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(texts); i++)
        n_words += counts[i];
    places = malloc((size_t)(n_words ? n_words : 1) * sizeof(int64_t));
    if (!places) {
        PyErr_NoMemory();
        goto release;
    }
    for (Py_ssize_t i = 0, j = 0; i < PyList_GET_SIZE(texts); i++)
        for (Py_ssize_t end = j + counts[i]; j < end; j++) {
            uint64_t power, h = span_hash(&spans[j], &power);
            Py_ssize_t s = slot_of(table->shift, h);
            for (; table->entries[s].column >= 0; s = (s + 1) & table->mask)
                if (table->entries[s].hash == h && term_is(table->entries[s].term, &spans[j], 1))
                    break;
            places[j] = table->entries[s].column;
            if (places[j] < 0) {  /* a word to learn: the distinct ones, in order */
                PyObject *word = PyUnicode_Substring(PyList_GET_ITEM(texts, i), spans[j].start,
                                                     spans[j].start + spans[j].length);
                if (!word || (!missing && !(missing = PyDict_New())) || PyDict_SetItem(missing, word, Py_None) < 0) {
                    Py_XDECREF(word);
                    goto release;
                }
                Py_DECREF(word);
            }
        }
    if (missing) {
        result = PyDict_Keys(missing);
        goto release;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = add_runs(places, counts, PyList_GET_SIZE(texts), &views[2], &views[3], &w, &error);
    Py_END_ALLOW_THREADS
    result = status < 0 ? failed(error) : Py_NewRef(Py_None);
release:
    Py_XDECREF(missing);
    free(spans);
    free(counts);
    free(places);
    release(views, 4);
    return result;
}

/* add_token_decisions and add_text_decisions: spans from tokens (texts NULL) or from texts. */
static PyObject *add_word_decisions(PyObject *table, PyObject *tokens, PyObject *per_text_obj, PyObject *texts,
                                    Py_ssize_t shortest, Py_ssize_t min_n, Py_ssize_t max_n, PyObject *weights_obj, int sublinear, int binary, int norm, PyObject *out_obj) {
    if (min_n < 1 || max_n < min_n)
        return PyErr_Format(PyExc_ValueError, "ngram_range must be (min_n, max_n) with 1 <= min_n <= max_n");
    Py_buffer views[3] = {{0}};  /* weights, out, tokens_per_text */
    Weights w;
    PyObject *result = NULL;
    Span *spans = NULL;
    Py_ssize_t *counts = NULL;
    if (weights_from(weights_obj, out_obj, sublinear, binary, norm, views, &w) < 0 ||
        (per_text_obj != Py_None && index_buffer(per_text_obj, &views[2], "tokens_per_text") < 0))
        goto release;
    Py_ssize_t n_texts = views[1].shape[0];
    if (texts ? PyList_GET_SIZE(texts) != n_texts
              : per_text_obj != Py_None ? views[2].shape[0] != n_texts : n_texts != 1) {
        PyErr_SetString(PyExc_ValueError, texts ? "out must have one row per text"
                                                : "tokens_per_text must have one count per row of out (None: out is "
                                                  "one row)");
        goto release;
    }
    const char *error = NULL;
    int status = texts ? spans_of_texts(texts, 0, shortest, &spans, &counts, &error)
                       : spans_of_tokens(tokens, per_text_obj != Py_None ? &views[2] : NULL, n_texts, &spans, &counts,
                                         &error);
    if (status == 0)
        status = add_spans((TermTable *)table, spans, counts, n_texts, min_n, max_n, &w, &error);
    result = status < 0 ? failed(error ? error : "out of memory") : Py_NewRef(Py_None);
release:
    free(spans);
    free(counts);
    release(views, 3);
    return result;
}

static PyObject *add_token_decisions(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"table", "tokens", "tokens_per_text", "ngram_range", "weights", "sublinear",
                            "binary", "norm", "out", NULL};
    PyObject *table, *tokens, *per_text_obj, *weights_obj, *out_obj;
    Py_ssize_t min_n, max_n;
    int sublinear, binary, norm;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!O(nn)OppiO:add_token_decisions", names, &TermTableType,
                                     &table, &PyList_Type, &tokens, &per_text_obj, &min_n, &max_n, &weights_obj,
                                     &sublinear, &binary, &norm, &out_obj))
        return NULL;
    return add_word_decisions(table, tokens, per_text_obj, NULL, 0, min_n, max_n, weights_obj, sublinear,
                              binary, norm, out_obj);
}

static PyObject *add_text_decisions(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"table", "texts", "shortest_token", "ngram_range", "weights", "sublinear",
                            "binary", "norm", "out", NULL};
    PyObject *table, *texts, *weights_obj, *out_obj;
    Py_ssize_t shortest, min_n, max_n;
    int sublinear, binary, norm;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!n(nn)OppiO:add_text_decisions", names, &TermTableType,
                                     &table, &PyList_Type, &texts, &shortest, &min_n, &max_n, &weights_obj,
                                     &sublinear, &binary, &norm, &out_obj))
        return NULL;
    if (shortest < 1)
        return PyErr_Format(PyExc_ValueError, "shortest_token must be at least 1, got %zd", shortest);
    return add_word_decisions(table, NULL, Py_None, texts, shortest, min_n, max_n, weights_obj, sublinear,
                              binary, norm, out_obj);
}

static PyMethodDef methods[] = {
    {"add_decisions", (PyCFunction)(void (*)(void))add_decisions, METH_VARARGS | METH_KEYWORDS,
     "add_decisions(rows, cols, weights, sublinear, binary, norm, out)\n--\n\n"
     "Add to out[row] each text's tf-idf vector times coef (weights: per column its idf or 1,\n"
     "then its coef row), from its n-gram occurrences\n"
     "(rows: each occurrence's text, None for one text; cols: its column, negative for none)."},
    {"add_word_run_decisions", (PyCFunction)(void (*)(void))add_word_run_decisions, METH_VARARGS | METH_KEYWORDS,
     "add_word_run_decisions(table, texts, bounds, flat, weights, sublinear, binary, norm, out)\n--\n\n"
     "add_decisions for a char_wb block's cached words: the words of each text (as str.split()\n"
     "makes them) are found in the WordTable, and a word at place u has the columns\n"
     "flat[bounds[u]:bounds[u + 1]]. Returns None, or the list of the texts' words the table lacks\n"
     "(distinct, in order; nothing is added then)."},
    {"add_token_decisions", (PyCFunction)(void (*)(void))add_token_decisions, METH_VARARGS | METH_KEYWORDS,
     "add_token_decisions(table, tokens, tokens_per_text, ngram_range, weights, sublinear, binary, norm, out)\n"
     "--\n\n"
     "add_decisions for a word analyzer's n-grams, from each text's tokens (a list of str, texts\n"
     "one after another, tokens_per_text[i] of text i; None: one text) and the TermTable of the\n"
     "vocabulary."},
    {"add_text_decisions", (PyCFunction)(void (*)(void))add_text_decisions, METH_VARARGS | METH_KEYWORDS,
     "add_text_decisions(table, texts, shortest_token, ngram_range, weights, sublinear, binary, norm, out)\n"
     "--\n\n"
     "add_token_decisions with each text's tokens found here: the maximal runs of word characters\n"
     "(alphanumeric or _) of at least shortest_token characters, as the token patterns\n"
     "\\b\\w\\w+\\b (2) and \\b\\w+\\b (1) find them."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_tfidf", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__tfidf(void) {
    if (PyType_Ready(&TermTableType) < 0 || PyType_Ready(&WordTableType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m && (PyModule_AddObjectRef(m, "TermTable", (PyObject *)&TermTableType) < 0 ||
              PyModule_AddObjectRef(m, "WordTable", (PyObject *)&WordTableType) < 0))
        Py_CLEAR(m);
    return m;
}
