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
// alone, so additions to one list may be combined into one write (see Store.Update).
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

// Add adds id to the list under key, unless the head or the page kept last holds it.
func (l *Log) Add(ctx context.Context, key, id string) error {
	for {
		_, err := l.heads.Update(ctx, key, func(cur *logHead) (Change[logHead], error) {
			switch {
			case cur == nil:
				return Change[logHead]{Value: &logHead{IDs: []string{id}}}, nil
			case cur.holds(id):
				return Change[logHead]{}, nil
			case len(cur.IDs) >= LogPageSize:
				return Change[logHead]{}, errHeadFull
			}
			next := logHead{IDs: append(slices.Clone(cur.IDs), id), Pages: cur.Pages, Prev: cur.Prev}
			return Change[logHead]{Value: &next}, nil
		})
		if !errors.Is(err, errHeadFull) {
			return err
		}
		if err := l.turnPage(ctx, key, id); !errors.Is(err, errHeadFull) {
			return err
		}
	}
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
