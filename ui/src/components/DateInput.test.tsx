import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { testBackend } from "../test/backend";
import { renderWith } from "../test/render";
import { DateInput } from "./DateInput";

function Form(props: { onSubmit: (iso: string) => void }) {
  const [value, setValue] = useState("2026-11-30");
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        props.onSubmit(value);
      }}
    >
      <DateInput aria-label="due" value={value} onChange={setValue} />
      <button type="submit">record</button>
    </form>
  );
}

describe("DateInput", () => {
  it("shows dd/mm/yyyy in Indonesian, and a date it cannot read blocks the form instead of sending the last one", async () => {
    const user = userEvent.setup();
    const sent: string[] = [];
    renderWith(<Form onSubmit={(v) => sent.push(v)} />, testBackend({}), "id");
    const input = screen.getByLabelText("due") as HTMLInputElement;
    expect(input.value).toBe("30/11/2026");
    await user.clear(input);
    await user.type(input, "15/01/2027");
    await user.click(screen.getByRole("button", { name: "record" }));
    expect(sent).toEqual(["2027-01-15"]);
    // half-typed into something that is no date: the form does not go with 2027-01-15
    await user.type(input, "x");
    expect(input.validity.valid).toBe(false);
    await user.click(screen.getByRole("button", { name: "record" }));
    expect(sent).toEqual(["2027-01-15"]);
    await user.clear(input);
    await user.type(input, "31/02/2027");
    expect(input.validity.valid).toBe(false);
    await user.clear(input);
    await user.type(input, "28/02/2027");
    expect(input.validity.valid).toBe(true);
    await user.click(screen.getByRole("button", { name: "record" }));
    expect(sent).toEqual(["2027-01-15", "2027-02-28"]);
  });
});
