package imapsync

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Config says how to reach and log in to one mailbox.
type Config struct {
	Host string
	// Port defaults to 993 for "tls" and 143 for "starttls" and "none".
	Port int
	// Security is "tls" (implicit TLS, the default when empty), "starttls"
	// or "none".
	Security string
	Username string
	Password string
	// OAuthToken, when non-nil, returns an access token and the login is
	// AUTHENTICATE XOAUTH2 (Gmail, Outlook) instead of LOGIN/PLAIN. It is
	// called before connecting.
	OAuthToken func(ctx context.Context) (string, error)
	// Dial opens the TCP connection; nil uses a net.Dialer. Give it the
	// SSRF-safe egress dialer for addresses users typed in.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSConfig for "tls" and "starttls"; nil is TLS 1.2+ with the system
	// roots. ServerName defaults to Host.
	TLSConfig *tls.Config
	// Mailbox defaults to "INBOX".
	Mailbox string
	// Timeout bounds every wait on the server: connecting, the TLS
	// handshake, and each read or write while a command is in flight must
	// make progress within it. Default 30 s. The time the sink takes does
	// not count.
	Timeout time.Duration
}

// State is how far a mailbox has been read: its UIDVALIDITY and the
// highest UID ingested. The zero State means never synced.
type State struct {
	UIDValidity uint32
	LastUID     uint32
}

// Options bound one Sync call.
type Options struct {
	// Since limits the first sync (and the one after a UIDVALIDITY change)
	// to messages whose INTERNALDATE is on or after this day (UID SEARCH
	// SINCE: the date of Since in its own location, the time of day
	// ignored). Zero reads the whole mailbox. Incremental syncs read every
	// new UID whatever its date.
	Since time.Time
	// BatchSize is the number of messages per FETCH and per sink call;
	// default 200.
	BatchSize int
	// MaxMessages stops a Sync after this many messages (Result.More) so
	// that one run is bounded; the next run continues from the State. 0 is
	// no limit. A reset cut short continues as an incremental sync: every
	// UID above the stored one, whatever its date (mail older than Since
	// normally has lower UIDs than newer mail, so it stays behind).
	MaxMessages int
}

// Fetched is one message as the server stores it.
type Fetched struct {
	UID          uint32
	InternalDate time.Time
	Size         int64  // RFC822.SIZE
	Raw          []byte // BODY[]: the whole RFC 5322 message
}

// Batch is what the sink receives: messages and the State after them.
type Batch struct {
	// State after this batch: commit it with the batch's messages, in one
	// transaction, for exactly-once ingest.
	State State
	// Reset is set on the first batch after a UIDVALIDITY change (or of the
	// first sync): the UIDs restarted, the stored ones mean nothing now.
	Reset bool
	// Messages in ascending UID order. Empty when the State changes with
	// nothing to read (a reset of a mailbox with nothing since Since, or
	// messages expunged between listing and fetching).
	Messages []Fetched
}

// Result is what one Sync did.
type Result struct {
	// State is the last State delivered to (and accepted by) the sink, or
	// the one passed in when nothing was delivered.
	State   State
	Fetched int    // messages delivered
	More    bool   // stopped at MaxMessages: more are waiting
	Reset   bool   // the UIDVALIDITY differed from the State passed in
	Exists  uint32 // messages in the mailbox when it was opened
}

const defaultBatchSize = 200

// Sync logs in, EXAMINEs the mailbox (read-only) and fetches every message
// with UID > st.LastUID, or, when st.UIDValidity is zero or differs from
// the server's, every message since opts.Since, in ascending UID order,
// with BODY.PEEK[] (never setting \Seen; nothing is moved, deleted or
// expunged), calling sink once per batch. Nothing new means no sink call;
// a reset with nothing to read still delivers one empty batch so the
// caller stores the new UIDVALIDITY.
//
// When sink returns an error Sync stops and returns it as is; the caller's
// stored State is then the one of the last batch it committed. Sync says
// LOGOUT at the end. Its errors are wrapped with the operation; ErrAuth
// marks a refused login, and a done ctx is returned as ctx's cause.
func Sync(ctx context.Context, cfg Config, st State, opts Options, sink func(context.Context, Batch) error) (Result, error) {
	res := Result{State: st}
	batch := opts.BatchSize
	if batch <= 0 {
		batch = defaultBatchSize
	}
	mailbox := cfg.Mailbox
	if mailbox == "" {
		mailbox = "INBOX"
	}
	s, err := open(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer s.close()

	sel, err := s.c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return res, s.wrap("examine "+mailbox, err)
	}
	if sel.UIDValidity == 0 {
		return res, fmt.Errorf("imapsync: examine %s: the server sent no UIDVALIDITY", mailbox)
	}
	res.Exists = sel.NumMessages
	reset := st.UIDValidity != sel.UIDValidity
	res.Reset = reset
	floor := st.LastUID // UIDs up to floor are ingested
	if reset {
		floor = 0
	}
	if floor == math.MaxUint32 {
		s.logout()
		return res, nil
	}

	// List the UIDs to read. "UID n:*" also returns the last message when
	// n is above the highest UID: filter on floor.
	criteria := &imap.SearchCriteria{UID: []imap.UIDSet{{imap.UIDRange{Start: imap.UID(floor + 1), Stop: 0}}}}
	if reset && !opts.Since.IsZero() {
		y, m, d := opts.Since.Date()
		criteria.Since = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	found, err := s.c.UIDSearch(criteria, s.searchAll()).Wait()
	if err != nil {
		return res, s.wrap("search "+mailbox, err)
	}
	var uids []uint32
	for _, u := range found.AllUIDs() {
		if uint32(u) > floor {
			uids = append(uids, uint32(u))
		}
	}
	slices.Sort(uids)
	uids = slices.Compact(uids)

	// end is the LastUID a complete reset ends at: every UID assigned by
	// the time of EXAMINE was listed, so the ones SINCE left out (older
	// mail) must not come back as "new" in the next incremental sync.
	var end uint32
	if reset {
		if sel.UIDNext > 0 {
			end = uint32(sel.UIDNext) - 1
		} else if !opts.Since.IsZero() {
			// UIDNEXT is optional in IMAP4rev1: ask for the highest UID.
			all, err := s.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{{imap.UIDRange{Start: 1, Stop: 0}}}}, s.searchAll()).Wait()
			if err != nil {
				return res, s.wrap("search "+mailbox, err)
			}
			for _, u := range all.AllUIDs() {
				end = max(end, uint32(u))
			}
		}
	}
	if opts.MaxMessages > 0 && len(uids) > opts.MaxMessages {
		uids, res.More = uids[:opts.MaxMessages], true
	}

	deliver := func(b Batch) error {
		s.dc.disarm()
		err := sink(ctx, b)
		s.dc.arm()
		if err != nil {
			return err
		}
		res.State = b.State
		res.Fetched += len(b.Messages)
		return nil
	}

	if len(uids) == 0 {
		if reset {
			b := Batch{State: State{UIDValidity: uint32(sel.UIDValidity), LastUID: end}, Reset: true}
			if err := deliver(b); err != nil {
				return res, err
			}
		}
		s.logout()
		return res, nil
	}
	for i := 0; i < len(uids); i += batch {
		chunk := uids[i:min(i+batch, len(uids))]
		msgs, err := s.fetch(chunk[0], chunk[len(chunk)-1], floor)
		if err != nil {
			return res, err
		}
		b := Batch{
			State:    State{UIDValidity: uint32(sel.UIDValidity), LastUID: chunk[len(chunk)-1]},
			Reset:    reset && i == 0,
			Messages: msgs,
		}
		if reset && !res.More && i+batch >= len(uids) {
			b.State.LastUID = max(b.State.LastUID, end)
		}
		if err := deliver(b); err != nil {
			return res, err
		}
	}
	s.logout()
	return res, nil
}

// searchAll asks for the answer as ranges ("ALL 1:10000", RFC 4731
// ESEARCH) when the server can, instead of one number per message.
func (s *session) searchAll() *imap.SearchOptions {
	caps := s.c.Caps()
	if caps.Has(imap.CapESearch) || caps.Has(imap.CapIMAP4rev2) {
		return &imap.SearchOptions{ReturnAll: true}
	}
	return nil
}

// maxPrealloc caps the buffer allocated up front from a literal's
// announced size; a larger message still reads, growing as it comes.
const maxPrealloc = 32 << 20

// fetch reads the messages with lo <= UID <= hi (and UID > floor) with
// UID FETCH lo:hi (UID INTERNALDATE RFC822.SIZE BODY.PEEK[]), in
// ascending UID order.
func (s *session) fetch(lo, hi, floor uint32) (msgs []Fetched, err error) {
	set := imap.UIDSet{imap.UIDRange{Start: imap.UID(lo), Stop: imap.UID(hi)}}
	cmd := s.c.Fetch(set, &imap.FetchOptions{
		UID: true, InternalDate: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	})
	defer func() {
		if err != nil {
			// Close the connection first: the client's reader then stops
			// instead of waiting for us to consume the rest of the answer.
			s.abort()
			_ = cmd.Close()
		}
	}()
	for m := cmd.Next(); m != nil; m = cmd.Next() {
		var f Fetched
		var body bool
		for item := m.Next(); item != nil; item = m.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				f.UID = uint32(it.UID)
			case imapclient.FetchItemDataInternalDate:
				f.InternalDate = it.Time
			case imapclient.FetchItemDataRFC822Size:
				f.Size = it.Size
			case imapclient.FetchItemDataBodySection:
				body = true
				if it.Literal == nil {
					continue // NIL: the server has no body for it
				}
				if f.Raw, err = readLiteral(it.Literal); err != nil {
					return nil, s.wrap(fmt.Sprintf("fetch UID %d:%d", lo, hi), err)
				}
			}
		}
		if !body || f.UID <= floor || f.UID < lo || f.UID > hi {
			continue // not an answer to this FETCH (a flag update, say)
		}
		msgs = append(msgs, f)
	}
	if err = cmd.Close(); err != nil {
		return nil, s.wrap(fmt.Sprintf("fetch UID %d:%d", lo, hi), err)
	}
	slices.SortFunc(msgs, func(a, b Fetched) int { return cmp.Compare(a.UID, b.UID) })
	msgs = slices.CompactFunc(msgs, func(a, b Fetched) bool { return a.UID == b.UID })
	return msgs, nil
}

// readLiteral reads a message; a literal announces its exact size, which
// is allocated at once up to maxPrealloc.
func readLiteral(r imap.LiteralReader) ([]byte, error) {
	if n := r.Size(); n >= 0 && n <= maxPrealloc {
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	return io.ReadAll(r)
}

// Append stores raw in the mailbox (APPEND, no flags, so it arrives
// unseen) with date as its INTERNALDATE (zero: the server's now). It is
// for tests and tools: seeding a mailbox, the Dovecot check.
func Append(ctx context.Context, cfg Config, raw []byte, date time.Time) error {
	mailbox := cfg.Mailbox
	if mailbox == "" {
		mailbox = "INBOX"
	}
	s, err := open(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.close()
	cmd := s.c.Append(mailbox, int64(len(raw)), &imap.AppendOptions{Time: date})
	if _, err := cmd.Write(raw); err != nil {
		_ = cmd.Close()
		return s.wrap("append to "+mailbox, err)
	}
	if err := cmd.Close(); err != nil {
		return s.wrap("append to "+mailbox, err)
	}
	if _, err := cmd.Wait(); err != nil {
		return s.wrap("append to "+mailbox, err)
	}
	s.logout()
	return nil
}
