// Package slogor is a TEST-TOOL SHIM, not product code and not the real library: the Go module
// proxy refuses gitlab.com/greyxor/slogor (403), and lego v5.6.0's CLI imports it only in
// cmd/logger.go, for its default ("colored") log format. This stand-in offers exactly what that
// file calls — OptionFn, SetLevel, SetTimeFormat, DisableColor, NewHandler — over the standard
// library's text handler, without colors. certctl's tests read lego's output only to show it
// when a run fails.
package slogor

import (
	"io"
	"log/slog"
)

type options struct {
	level      slog.Leveler
	timeFormat string
}

// OptionFn configures the handler NewHandler builds.
type OptionFn func(*options)

// SetLevel sets the minimum level written.
func SetLevel(level slog.Leveler) OptionFn {
	return func(o *options) { o.level = level }
}

// SetTimeFormat sets the layout (time.Format) of each record's time.
func SetTimeFormat(layout string) OptionFn {
	return func(o *options) { o.timeFormat = layout }
}

// DisableColor is accepted for compatibility; this stand-in never writes colors.
func DisableColor() OptionFn {
	return func(*options) {}
}

// NewHandler returns a text handler writing to w with the options applied.
func NewHandler(w io.Writer, fns ...OptionFn) slog.Handler {
	o := options{level: slog.LevelInfo}
	for _, fn := range fns {
		fn(&o)
	}
	return slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: o.level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey && o.timeFormat != "" && a.Value.Kind() == slog.KindTime {
				return slog.String(slog.TimeKey, a.Value.Time().Format(o.timeFormat))
			}
			return a
		},
	})
}
