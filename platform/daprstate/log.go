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
// racing to add it, come well within that).
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
	_, err := l.heads.Update(ctx, key, func(cur *logHead) (Change[logHead], error) {
		next, err := l.appended(ctx, key, cur, id)
		return Change[logHead]{Value: next}, err
	})
	return err
}

// appended returns the head of the list under key with id added (nil: it holds it already),
// to be written guarded by the head's ETag. A full head is first kept as a page; that write is
// the same whoever makes it, so a writer that loses the race for the head and decides again
// does no harm.
func (l *Log) appended(ctx context.Context, key string, cur *logHead, id string) (*logHead, error) {
	next := logHead{}
	if cur != nil {
		if slices.Contains(cur.IDs, id) || slices.Contains(cur.Prev, id) {
			return nil, nil
		}
		next = logHead{IDs: slices.Clone(cur.IDs), Pages: cur.Pages, Prev: cur.Prev}
	}
	if len(next.IDs) >= LogPageSize {
		err := l.pages.Create(ctx, pageKey(key, next.Pages), logPage{IDs: next.IDs})
		if err != nil && !errors.Is(err, ErrExists) {
			return nil, err
		}
		// ErrExists: another head was kept under this page number, so this one is stale and
		// its write fails on the ETag; deciding again starts from the head that won.
		next = logHead{Pages: next.Pages + 1, Prev: next.IDs}
	}
	next.IDs = append(next.IDs, id)
	return &next, nil
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
