import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { StaffMember } from "../bindings/StaffMember";
import { testBackend } from "../test/backend";
import { renderWith } from "../test/render";
import { Staff } from "./Staff";

describe("staff screen", () => {
  it("lists the people working this counter once; the office's own login apart", () => {
    const staff: StaffMember[] = [
      { id: "owner-counter", name: "Ibu Owner", role: "owner", can_approve: true, active: true, locked_until: null },
      { id: "owner-office", name: "Ibu Owner", role: "owner", can_approve: true, active: false, locked_until: null },
      { id: "cash-1", name: "Ani", role: "cashier", can_approve: false, active: true, locked_until: null },
    ];
    renderWith(<Staff staff={staff} onChanged={() => undefined} />, testBackend({}));
    const lists = screen.getAllByRole("list");
    expect(within(lists[0]!).getAllByText("Ibu Owner")).toHaveLength(1);
    expect(within(screen.getByTestId("staff-not-here")).getByText(/Ibu Owner/)).toBeTruthy();
  });
});
