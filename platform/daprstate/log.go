package daprstate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// LogPageSize is how many ids one page of a Log holds.
const LogPageSize = 100

// Log keeps append-only lists of ids (a customer's orders, say), each in pages: the newest page
// is the list's head and is rewritten as ids are added; a full head is kept as a page of its
// own and never written again. Adding an id costs the same however long the list is, and a
// reader takes one page at a time, newest first. An id is added once, however often it is
// added, as long as it is still in the head or the page kept last (a retry, or two writers
// racing to add it, come well within that). Every change of a head is decided on the head
// alone, so it goes with the write of what it lists (UpdateListed, UpdateListedApart).
type Log struct {
	heads *Store[logHead]
	pages *Store[logPage]
}

// logHead is a list's newest page, how many full pages came before it, and the ids of the
// page kept last (so that an id is not added again just after its page was kept).
type logHead struct {
	IDs   []string `json:"ids"`
	Pages int      `json:"pages,omitempty"`
	Prev  []string `json:"prev,omitempty"`
}

type logPage struct {
	IDs []string `json:"ids"`
}

// NewLog returns the lists kept under prefix (for example "customer-") in the named store.
func NewLog(client Client, storeName, prefix string) *Log {
	return &Log{heads: New[logHead](client, storeName, prefix), pages: New[logPage](client, storeName, prefix+"page-")}
}

// adding runs write, which adds id to the list under key (with whatever else it writes), and
// when the head is full (write reports errHeadFull) turns the page, which lists id on the new
// head, and runs write again.
func (l *Log) adding(ctx context.Context, key, id string, write func() error) error {
	for {
		err := write()
		if !errors.Is(err, errHeadFull) {
			return err
		}
		if err := l.turnPage(ctx, key, id); err != nil && !errors.Is(err, errHeadFull) {
			return err
		}
	}
}

// add decides the head with id added: nil when it holds id already, errHeadFull when there is
// no room.
func (h *logHead) add(id string) (*logHead, error) {
	switch {
	case h == nil:
		return &logHead{IDs: []string{id}}, nil
	case h.holds(id):
		return nil, nil
	case len(h.IDs) >= LogPageSize:
		return nil, errHeadFull
	}
	return &logHead{IDs: append(slices.Clone(h.IDs), id), Pages: h.Pages, Prev: h.Prev}, nil
}

// UpdateListed is UpdatePair that also adds id to the list under listKey of l (unless the
// head or the page kept last holds it) in the same transaction: the change and the addition
// are written together or not at all, so a document is never written without being listed,
// and a refused change lists nothing. (A full head is kept as a page first, and the new head
// starts with id: a change refused after that leaves id listed, as a write failing after the
// head's would.) Those sharing their first document are combined as UpdatePair's are. l must
// keep its lists in the state store of sa and sb.
func UpdateListed[A, B any](ctx context.Context, sa *Store[A], keyA string, sb *Store[B], keyB string,
	l *Log, listKey, id string, decide func(a *A, b *B) (*A, *B, error),
) error {
	return l.adding(ctx, listKey, id, func() error {
		c := &combined{ctx: ctx, others: []string{sb.prefix + keyB, l.heads.prefix + listKey}, done: make(chan error, 1)}
		c.apply = func(a *rawDoc, others []*rawDoc) error {
			commit, err := decidePair(a, others[0], decide)
			if err != nil {
				return err
			}
			listing, err := adds(others[1], id)
			if err != nil {
				return err
			}
			commit()
			listing()
			return nil
		}
		return sa.enqueue(keyA, c)
	})
}

// UpdateListedApart is Update of a document that is listed in l when first written, for a
// state store whose transactions cannot be leaned on (Dapr's Redis store lets a create in a
// transaction overwrite a concurrent one): the document and the head of the list under
// listKey are read together, in one call; decide returns what to write (nil: nothing) and
// whether to add id to the list (unless the head or the page kept last holds it); then the
// head is written, and the document after it, each on its own. Should the document's write
// fail after the head's, the retry finds id listed already: a document is never written
// before it is listed, and a change decide refuses lists nothing. Updates of one document are
// combined as Update's are; the documents of one list each write its head on their own, and
// one that loses the race for it reads and decides again. l must keep its lists in the state
// store of s.
func UpdateListedApart[T any](ctx context.Context, s *Store[T], key string, l *Log, listKey, id string,
	decide func(cur *T) (next *T, list bool, err error),
) error {
	return l.adding(ctx, listKey, id, func() error {
		c := &combined{ctx: ctx, others: []string{l.heads.prefix + listKey}, apart: true, done: make(chan error, 1)}
		c.apply = func(d *rawDoc, others []*rawDoc) error {
			cur, err := decodeRaw[T](d)
			if err != nil {
				return err
			}
			next, list, err := decide(cur)
			if err != nil || next == nil {
				return err
			}
			raw, err := encodeRaw(d, next)
			if err != nil {
				return err
			}
			if list {
				listing, err := adds(others[0], id)
				if err != nil {
					return err
				}
				listing()
			}
			d.set(raw, true)
			return nil
		}
		return s.enqueue(key, c)
	})
}

// adds decides the head h with id added, and returns how to give h what it decided:
// errHeadFull when there is no room.
func adds(h *rawDoc, id string) (commit func(), err error) {
	head, err := decodeRaw[logHead](h)
	if err != nil {
		return nil, err
	}
	next, err := head.add(id)
	if err != nil {
		return nil, err
	}
	raw, err := encodeRaw(h, next)
	if err != nil {
		return nil, err
	}
	return func() { h.set(raw, next != nil) }, nil
}

// errHeadFull means the head must be kept as a page before another id fits.
var errHeadFull = errors.New("the list's head is full")

// turnPage keeps the full head of the list under key as a page of its own, then starts a new
// head with id. A full head is never written again until its page is kept, so whoever keeps
// it keeps the same ids, and a writer that finds the page kept already goes on. It returns
// errHeadFull when the head it started a page with was replaced meanwhile (by another id's
// new head): the caller adds id to that one.
func (l *Log) turnPage(ctx context.Context, key, id string) error {
	full, _, err := l.heads.Get(ctx, key)
	if err != nil {
		return err
	}
	if len(full.IDs) < LogPageSize {
		return errHeadFull // another writer turned the page meanwhile
	}
	if err := l.pages.Create(ctx, pageKey(key, full.Pages), logPage{IDs: full.IDs}); err != nil && !errors.Is(err, ErrExists) {
		return err
	}
	_, err = l.heads.Update(ctx, key, func(cur *logHead) (Change[logHead], error) {
		switch {
		case cur == nil:
			return Change[logHead]{}, errHeadFull
		case cur.holds(id):
			return Change[logHead]{}, nil
		case cur.Pages != full.Pages || len(cur.IDs) < LogPageSize:
			return Change[logHead]{}, errHeadFull
		}
		return Change[logHead]{Value: &logHead{IDs: []string{id}, Pages: cur.Pages + 1, Prev: cur.IDs}}, nil
	})
	return err
}

// holds reports whether the head or the page kept last lists id.
func (h *logHead) holds(id string) bool {
	return slices.Contains(h.IDs, id) || slices.Contains(h.Prev, id)
}

// Page returns one page of the list under key, newest first: the head for the cursor "", an
// older page for the cursor a page before handed out, and the cursor of the page after it
// ("" when there is none).
func (l *Log) Page(ctx context.Context, key, cursor string) (ids []string, next string, err error) {
	if cursor == "" {
		head, _, err := l.heads.Get(ctx, key)
		if err != nil {
			return nil, "", err
		}
		return reversed(head.IDs), pageCursor(head.Pages - 1), nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(cursor, "p"))
	if err != nil || n < 0 || !strings.HasPrefix(cursor, "p") {
		return nil, "", fmt.Errorf("%w: cursor %q", ErrBadCursor, cursor)
	}
	page, found, err := l.pages.Get(ctx, pageKey(key, n))
	if err != nil {
		return nil, "", err
	}
	if !found {
		return nil, "", fmt.Errorf("%w: cursor %q", ErrBadCursor, cursor)
	}
	return reversed(page.IDs), pageCursor(n - 1), nil
}

// ErrBadCursor means a cursor the list never handed out.
var ErrBadCursor = errors.New("no such page")

func pageKey(key string, n int) string { return key + "/" + strconv.Itoa(n) }

func pageCursor(n int) string {
	if n < 0 {
		return ""
	}
	return "p" + strconv.Itoa(n)
}

func reversed(ids []string) []string {
	out := slices.Clone(ids)
	slices.Reverse(out)
	return out
}
