import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { testBackend } from "../test/backend";
import { renderWith } from "../test/render";
import { Dialog } from "./Dialog";

function Opener() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" onClick={() => setOpen(true)}>
        open
      </button>
      <button type="button">behind</button>
      {open ? (
        <Dialog title="Approve" onClose={() => setOpen(false)}>
          <input aria-label="first" />
          <button type="button">last</button>
        </Dialog>
      ) : null}
    </>
  );
}

describe("Dialog", () => {
  it("keeps Tab inside, closes on Esc and gives focus back to the control that opened it", async () => {
    const user = userEvent.setup();
    renderWith(<Opener />, testBackend({}));
    await user.click(screen.getByRole("button", { name: "open" }));
    expect(document.activeElement).toBe(screen.getByLabelText("first"));
    await user.tab();
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "last" }));
    await user.tab();
    expect(document.activeElement).toBe(screen.getByLabelText("first"));
    await user.tab({ shift: true });
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "last" }));
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "open" }));
  });
});
