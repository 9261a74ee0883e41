package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/cursor"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/export"
)

// exportChart answers a download of the patient's conversations, as HTML
// (the default) or FHIR R4 JSON, one part at a time: a part past the first
// comes with ?part=, the signed position the previous part's Link header
// names.
func (h *handler) exportChart(r *req) (response, error) {
	format := r.ev.QueryStringParameters["format"]
	if format == "" {
		format = "html"
	}
	if format != "html" && format != "fhir" {
		return response{}, domain.Invalid("format", "format must be html or fhir")
	}
	p, pid := r.call.Principal, r.path("patientId")
	binding := cursor.Binding(string(p.Side), p.ID, "export", pid)
	var from *app.ExportPosition
	if s := r.ev.QueryStringParameters["part"]; s != "" {
		m, err := h.cursors.Decode(binding, s)
		if err != nil || m == nil {
			return response{}, domain.Invalid("part", "the part link is invalid or expired; download again from the first part")
		}
		if from = positionOf(m); from == nil {
			return response{}, domain.Invalid("part", "the part link is invalid; download again from the first part")
		}
	}
	e, err := h.app.ExportChart(r.ctx, r.call, pid, format, from)
	if err != nil {
		return response{}, err
	}
	next := ""
	if e.Next != nil {
		c, err := h.cursors.Encode(binding, positionMap(*e.Next))
		if err != nil {
			return response{}, err
		}
		next = r.ev.RawPath + "?format=" + format + "&part=" + url.QueryEscape(c)
	}
	name := "messages-" + pid + "-" + e.At.Format(time.DateOnly)
	if e.Part > 1 || next != "" {
		name += "-part-" + strconv.Itoa(e.Part)
	}
	headers := map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
	var body []byte
	if format == "fhir" {
		if body, err = export.FHIR(e, next); err != nil {
			return response{}, err
		}
		headers["Content-Type"], name = export.FHIRType, name+".fhir.json"
	} else {
		body = export.HTML(e)
		headers["Content-Type"], headers["Content-Security-Policy"], name = export.HTMLType, export.CSP, name+".html"
	}
	headers["Content-Disposition"] = `attachment; filename="` + name + `"`
	if next != "" {
		headers["Link"] = "<" + next + `>; rel="next"`
	}
	return response{StatusCode: http.StatusOK, Headers: headers, Body: string(body)}, nil
}

// A position travels in a signed cursor as a map of strings; the chain's
// page key rides under "k." names.
func positionMap(p app.ExportPosition) map[string]string {
	m := map[string]string{"p": strconv.Itoa(p.Part), "c": p.ID, "t": p.CreatedAt.UTC().Format(time.RFC3339Nano), "f": p.FirstID, "v": p.PreviousID}
	for k, v := range p.Chain {
		m["k."+k] = v
	}
	return m
}

func positionOf(m map[string]string) *app.ExportPosition {
	part, err := strconv.Atoi(m["p"])
	if err != nil || part < 2 {
		return nil
	}
	at, err := time.Parse(time.RFC3339Nano, m["t"])
	if err != nil {
		return nil
	}
	p := &app.ExportPosition{Part: part, ID: m["c"], CreatedAt: at, FirstID: m["f"], PreviousID: m["v"]}
	for k, v := range m {
		if name, ok := strings.CutPrefix(k, "k."); ok {
			if p.Chain == nil {
				p.Chain = map[string]string{}
			}
			p.Chain[name] = v
		}
	}
	return p
}
