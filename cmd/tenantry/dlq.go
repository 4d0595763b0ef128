package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/tenantry/tenantry/events"
)

func dlq(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	nc, js, err := connectNATS()
	if err != nil {
		return err
	}
	defer nc.Close()
	d := events.NewDeadLetters(js)
	switch args[0] {
	case "list":
		return dlqList(ctx, d, args[1:])
	case "show":
		return dlqShow(ctx, d, args[1:])
	case "redrive", "purge":
		return dlqApply(ctx, d, args[0], args[1:])
	}
	return errUsage
}

func dlqList(ctx context.Context, d *events.DeadLetters, args []string) error {
	fs := flag.NewFlagSet("dlq list", flag.ContinueOnError)
	var f events.DLQFilter
	fs.StringVar(&f.Subject, "subject", "", "original subject filter, e.g. hook.> (default: all)")
	fs.Uint64Var(&f.After, "after", 0, "list after this DLQ sequence (the next page)")
	fs.IntVar(&f.Limit, "limit", 50, "at most this many")
	asJSON := fs.Bool("json", false, `print {"items": […], "next": seq}`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	items, next, err := d.List(ctx, f)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(map[string]any{"items": items, "next": next})
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SEQ\tAT\tSUBJECT\tREASON\tDELIVERIES\tERROR")
	for _, dl := range items {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%.80s\n", dl.Seq, dl.At.Format("2006-01-02T15:04:05Z07:00"), dl.Subject, dl.Reason, dl.Deliveries, dl.Error)
	}
	if next != 0 {
		fmt.Fprintf(w, "more: tenantry dlq list --after %d\n", next)
	}
	return w.Flush()
}

func dlqShow(ctx context.Context, d *events.DeadLetters, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: tenantry dlq show SEQ")
	}
	seq, err := strconv.ParseUint(args[0], 10, 64)
	if err != nil {
		return fmt.Errorf("dlq show: %q is not a DLQ sequence", args[0])
	}
	dl, err := d.Get(ctx, seq)
	if err != nil {
		return fmt.Errorf("dlq show: %s", errText(err))
	}
	out := struct {
		*events.DeadLetter
		Text *string `json:"text,omitempty"` // the data, when it is UTF-8
	}{DeadLetter: dl}
	if utf8.Valid(dl.Data) {
		text := string(dl.Data)
		out.Text = &text
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// dlqApply redrives or purges the dead letters the flags select.
func dlqApply(ctx context.Context, d *events.DeadLetters, verb string, args []string) error {
	fs := flag.NewFlagSet("dlq "+verb, flag.ContinueOnError)
	var sel events.DLQSelect
	fs.Func("seq", "a DLQ sequence (repeatable)", func(v string) error {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a DLQ sequence", v)
		}
		sel.Seqs = append(sel.Seqs, n)
		return nil
	})
	fs.StringVar(&sel.Subject, "subject", "", "every dead letter whose original subject matches, e.g. cmd.>")
	fs.BoolVar(&sel.All, "all", false, "every dead letter")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var n uint64
	var err error
	if verb == "redrive" {
		var r int
		r, err = d.Redrive(ctx, sel)
		n = uint64(r)
	} else {
		n, err = d.Purge(ctx, sel)
	}
	if err != nil {
		return fmt.Errorf("dlq %s (after %d): %s", verb, n, errText(err))
	}
	past := map[string]string{"redrive": "redriven", "purge": "purged"}[verb]
	fmt.Printf("%s %d dead letter(s)\n", past, n)
	return nil
}
