module certctl.local/lego-build

go 1.26.0

require github.com/go-acme/lego/v5 v5.6.0

// The Go module proxy answers 403 for gitlab.com/greyxor/slogor (lego's CLI log handler):
// a local stand-in with the four functions lego's cmd/logger.go calls (see slogor/README.md).
replace gitlab.com/greyxor/slogor => ./slogor
