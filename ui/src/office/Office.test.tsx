import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { makeClient } from "./api/client";
import { Office } from "./Office";

type Answer = { status: number; body: unknown };

/** A stand-in for the service's HTTP answers (the real service is the end-to-end suite's). */
function service(routes: Record<string, (req: Request) => Answer>) {
  const seen: Request[] = [];
  const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : new Request(input, init);
    seen.push(req);
    const url = new URL(req.url);
    const key = `${req.method} ${url.pathname.replace("/api/v1", "")}`;
    const route = routes[key];
    const a = route ? route(req) : { status: 404, body: { code: "not_found", title: "Not Found", status: 404 } };
    const type = a.status >= 400 ? "application/problem+json" : "application/json";
    return new Response(a.status === 204 ? null : JSON.stringify(a.body), { status: a.status, headers: { "content-type": type } });
  };
  const client = (token: () => string | null) => makeClient(token, "http://office.test/api/v1", fetchImpl as typeof fetch);
  return { client, seen };
}

const owner = { id: "u1", name: "Ibu Owner", email: "owner@toko.id", role: "owner", active: true };
const signedIn = { status: 200, body: { access_token: "tok-1", token_type: "Bearer", expires_in: 900, user: owner } };

async function signIn(user: ReturnType<typeof userEvent.setup>) {
  await user.type(screen.getByLabelText("Shop (tenant)"), "toko");
  await user.type(screen.getByLabelText("E-mail"), "owner@toko.id");
  await user.type(screen.getByLabelText("Password"), "correct horse battery");
  await user.click(screen.getByRole("button", { name: "Sign in" }));
}

describe("the shop's office", () => {
  it("says a wrong sign-in plainly, without telling which part was wrong", async () => {
    const s = service({ "POST /auth/login": () => ({ status: 401, body: { code: "unauthorized", title: "Unauthorized", status: 401, detail: "authentication required" } }) });
    const user = userEvent.setup();
    render(<Office client={s.client} />);
    await signIn(user);
    expect(await screen.findByText("The shop, e-mail or password is not right.")).toBeTruthy();
    // the password is not kept in the form after a try
    expect((screen.getByLabelText("Password") as HTMLInputElement).value).toBe("");
  });

  it("sends the token it was given, in memory only, and shows a pairing code with its QR code and expiry", async () => {
    const now = new Date("2027-01-05T03:00:00Z");
    const s = service({
      "POST /auth/login": () => signedIn,
      "POST /offline-orders/search": () => ({ status: 200, body: { items: [], next_cursor: null } }),
      "GET /devices": () => ({ status: 200, body: [] }),
      // the service's expires_at is 10 minutes on, by its clock; this computer's is 2 minutes
      // ahead, and the countdown still shows the service's 10 minutes
      "POST /devices/pairing-codes": () => ({ status: 201, body: { code: "ABCD-2345", expires_at: "2027-01-05T03:08:00Z", expires_in: 600 } }),
    });
    const user = userEvent.setup();
    render(<Office client={s.client} now={() => now} />);
    await signIn(user);
    await user.click(await screen.findByRole("button", { name: "Counters" }));
    await user.click(await screen.findByRole("button", { name: "Make a pairing code" }));
    expect((await screen.findByTestId("pairing-code-value")).textContent).toBe("ABCD-2345");
    expect(screen.getByTestId("pairing-qr").querySelector("path")?.getAttribute("d")).toMatch(/^M/);
    expect(screen.getByTestId("pairing-expiry").textContent).toBe("Works once, for 10:00 more.");
    const devices = s.seen.find((r) => r.url.endsWith("/devices"));
    expect(devices?.headers.get("Authorization")).toBe("Bearer tok-1");
    expect(window.localStorage.length + window.sessionStorage.length).toBe(0);
  });

  it("goes back to the sign-in form when the service no longer takes the token", async () => {
    const s = service({
      "POST /auth/login": () => signedIn,
      "POST /offline-orders/search": () => ({ status: 401, body: { code: "unauthorized", title: "Unauthorized", status: 401 } }),
    });
    const user = userEvent.setup();
    render(<Office client={s.client} />);
    await signIn(user);
    expect(await screen.findByText("Your sign-in has ended: sign in again.")).toBeTruthy();
    expect(screen.getByTestId("office-signin")).toBeTruthy();
  });

  it("lists orders in Bahasa, with what the shown orders add up to", async () => {
    const order = (n: string, total: string, paid: string) => ({
      id: n, order_number: n, order_type: "offline", channel: "phone", status: "pending", customer: { name: "Sari", phone: null, email: null, address: null },
      notes: null, items: [], subtotal: total, discount: "0", total, currency: "IDR", paid, balance: String(BigInt(total) - BigInt(paid)), overdue: n === "K01-20270105-0001",
      partly_paid: true, payment_terms: { type: "full", schedule: [] }, payments: [], business_date: "2027-01-05", recorded_by: "u1", last_modified_by: "u1",
      created_at: "2027-01-05T03:00:00Z", updated_at: "2027-01-05T03:00:00Z", version: 1, deleted: null,
    });
    const s = service({
      "POST /auth/login": () => ({ status: 200, body: { ...signedIn.body, user: { ...owner, role: "cashier" } } }),
      "POST /offline-orders/search": (req) => {
        // the search travels in the body, never in the URL
        expect(new URL(req.url).search).toBe("");
        return {
          status: 200,
          body: {
            items: [order("K01-20270105-0001", "1500000", "500000"), order("K02-20270105-0001", "250000", "0")],
            next_cursor: null,
            totals: { orders: 7, total: "3750000", paid: "500000", balance: "3250000" },
          },
        };
      },
    });
    const user = userEvent.setup();
    render(<Office client={s.client} />);
    fireEvent.change(screen.getByRole("combobox", { name: "Language" }), { target: { value: "id" } });
    await user.type(screen.getByLabelText("Toko (tenant)"), "toko");
    await user.type(screen.getByLabelText("Email"), "kasir@toko.id");
    await user.type(screen.getByLabelText("Kata sandi"), "kata sandi kasir");
    await user.click(screen.getByRole("button", { name: "Masuk" }));
    await waitFor(() => expect(screen.getAllByRole("row")).toHaveLength(3));
    // the totals are of every matching order (the service's), not of the page shown
    expect(screen.getByTestId("orders-summary").textContent).toMatch(/^7 pesanan · total Rp\s?3\.750\.000 · dibayar Rp\s?500\.000 · sisa Rp\s?3\.250\.000$/);
    // a cashier has no counters screen, as the API allows
    expect(screen.queryByRole("button", { name: "Kasir" })).toBeNull();
  });

  it("a refused search shows its error alone, in Bahasa naming the service's limit", async () => {
    const order = {
      id: "o1", order_number: "K01-20270105-0001", order_type: "offline", channel: "phone", status: "pending", customer: { name: "Sari", phone: null, email: null, address: null },
      notes: null, items: [], subtotal: "1000", discount: "0", total: "1000", currency: "IDR", paid: "0", balance: "1000", overdue: false,
      partly_paid: false, payment_terms: { type: "full", schedule: [] }, payments: [], business_date: "2027-01-05", recorded_by: "u1", last_modified_by: "u1",
      created_at: "2027-01-05T03:00:00Z", updated_at: "2027-01-05T03:00:00Z", version: 1, deleted: null,
    };
    const s = service({
      "POST /auth/login": () => signedIn,
      "GET /devices": () => ({ status: 200, body: [] }),
      "POST /offline-orders/search": () => {
        return searches++ === 0
          ? { status: 200, body: { items: [order], next_cursor: null, totals: { orders: 1, total: "1000", paid: "0", balance: "1000" } } }
          : {
              status: 422,
              body: { title: "Unprocessable Entity", status: 422, code: "too_many_words", field: "q", detail: "Search at most 8 words at a time", params: { max: "8" } },
            };
      },
    });
    let searches = 0;
    const user = userEvent.setup();
    render(<Office client={s.client} />);
    fireEvent.change(screen.getByRole("combobox", { name: "Language" }), { target: { value: "id" } });
    await user.type(screen.getByLabelText("Toko (tenant)"), "toko");
    await user.type(screen.getByLabelText("Email"), "owner@toko.id");
    await user.type(screen.getByLabelText("Kata sandi"), "kata sandi");
    await user.click(screen.getByRole("button", { name: "Masuk" }));
    await waitFor(() => expect(screen.getAllByRole("row")).toHaveLength(2));
    await user.type(screen.getByRole("searchbox"), "a b c d e f g h i");
    await user.keyboard("{Enter}");
    await waitFor(() => expect(screen.getByText("Cari paling banyak 8 kata sekaligus.")).toBeTruthy());
    expect(screen.queryAllByRole("row").length).toBeLessThanOrEqual(1);
    expect(screen.queryByTestId("orders-summary")).toBeNull();
  });

  it("opens an order once, and an edit that met a newer version shows both and saves again at that version", async () => {
    const base = {
      id: "o1", order_number: "K01-20270105-0001", order_type: "offline", channel: "phone", status: "pending",
      customer: { name: "Sari", phone: null, email: null, address: null }, notes: null,
      items: [{ name: "Kulkas", quantity: "1", unit_price: "1000000", discount: "0", line_total: "1000000", sku: null }],
      subtotal: "1000000", discount: "0", total: "1000000", currency: "IDR", paid: "0", balance: "1000000", overdue: false, partly_paid: false,
      payment_terms: { type: "full", schedule: [] }, payments: [], business_date: "2027-01-05", recorded_by: "u1", last_modified_by: "u1",
      created_at: "2027-01-05T03:00:00Z", updated_at: "2027-01-05T03:00:00Z", version: 3, deleted: null,
      origin: { device_id: "d1", device_code: "K01", received_at: "2027-01-05T03:05:00Z", recorded_by_name: "Kasir Ani" },
    };
    const theirs = { ...base, version: 4, notes: "diubah di kantor lain" };
    let reads = 0;
    const ifMatch: (string | null)[] = [];
    const s = service({
      "POST /auth/login": () => ({ status: 200, body: { ...signedIn.body, user: { ...owner, role: "cashier" } } }),
      "POST /offline-orders/search": () => ({ status: 200, body: { items: [base], next_cursor: null, totals: { orders: 1, total: "1000000", paid: "0", balance: "1000000" } } }),
      "GET /offline-orders/o1": () => {
        reads += 1;
        return { status: 200, body: reads === 1 ? base : theirs };
      },
      "PATCH /offline-orders/o1": (req) => {
        ifMatch.push(req.headers.get("If-Match"));
        if (ifMatch.length === 1) return { status: 412, body: { code: "stale_version", title: "Precondition Failed", status: 412 } };
        return { status: 200, body: { ...theirs, version: 5, customer: { ...base.customer, name: "Sari Dewi" } } };
      },
    });
    const user = userEvent.setup();
    render(<Office client={s.client} />);
    await signIn(user);
    await user.click(await screen.findByRole("button", { name: "K01-20270105-0001" }));
    expect((await screen.findByTestId("order-origin")).textContent).toMatch(/^Recorded on counter K01 by Kasir Ani; reached the service /);
    expect(reads).toBe(1);
    await user.click(screen.getByRole("button", { name: "Edit" }));
    const name = within(screen.getByTestId("edit-dialog")).getByLabelText("Customer name");
    await user.clear(name);
    await user.type(name, "Sari Dewi");
    await user.click(within(screen.getByTestId("edit-dialog")).getByRole("button", { name: "Save" }));
    expect((await screen.findByTestId("conflict-mine")).textContent).toMatch(/Sari Dewi/);
    expect(screen.getByTestId("conflict-theirs").textContent).toMatch(/diubah di kantor lain/);
    await user.click(screen.getByRole("button", { name: "Save mine over it" }));
    await waitFor(() => expect(screen.queryByTestId("edit-conflict")).toBeNull());
    expect(ifMatch).toEqual(['"3"', '"4"']);
    expect(screen.getByTestId("office-order").textContent).toMatch(/Sari Dewi/);
  });

  it("adds staff, shows the service's refusal at its field, and never keeps a password in the form", async () => {
    const staff = [{ id: "u1", name: "Ibu Owner", email: "owner@toko.id", role: "owner", active: true, has_pin: false }];
    const bodies: unknown[] = [];
    const s = service({
      "POST /auth/login": () => signedIn,
      "POST /offline-orders/search": () => ({ status: 200, body: { items: [], next_cursor: null } }),
      "GET /tenant": () => ({ status: 200, body: { slug: "toko", name: "Toko", currency: "IDR", time_zone: "Asia/Jakarta", phone_country_code: "62", business_date: "2027-01-05" } }),
      "GET /users": () => ({ status: 200, body: { items: staff } }),
      "POST /users": (req) => {
        bodies.push(req);
        if (bodies.length === 1) return { status: 422, body: { code: "too_short", title: "Unprocessable", status: 422, detail: "Password must be at least 10 characters", field: "password" } };
        const m = { id: "u2", name: "Ani", email: "ani@toko.id", role: "manager", active: true, has_pin: true };
        staff.push(m);
        return { status: 201, body: m };
      },
    });
    const user = userEvent.setup();
    render(<Office client={s.client} />);
    await signIn(user);
    await user.click(await screen.findByRole("button", { name: "Staff" }));
    const form = await screen.findByTestId("add-staff");
    const within = (label: string) => form.querySelector(`input[name="${label}"], select[name="${label}"]`) as HTMLInputElement;
    await user.type(within("name"), "Ani");
    await user.type(within("email"), "ani@toko.id");
    await user.selectOptions(within("role"), "manager");
    await user.type(within("password"), "short");
    await user.type(within("pin"), "1234");
    await user.click(screen.getByRole("button", { name: "Add staff member" }));
    expect(await screen.findByText("Password must be at least 10 characters")).toBeTruthy();
    expect(within("password").value).toBe("");
    expect(within("pin").value).toBe("");
    expect(within("name").value).toBe("Ani");
    await user.type(within("password"), "a long password");
    await user.click(screen.getByRole("button", { name: "Add staff member" }));
    expect(await screen.findByText("Added Ani")).toBeTruthy();
    await waitFor(() => expect(screen.getByTestId("staff").querySelectorAll("tbody tr")).toHaveLength(2));
    // the owner's own row has no role choice and no deactivation
    const ownerRow = screen.getByTestId("staff").querySelector('tr[data-staff="owner@toko.id"]');
    expect(ownerRow?.querySelector("select")).toBeNull();
    expect(ownerRow?.querySelector('button[name="deactivate"]')).toBeNull();
  });
});
