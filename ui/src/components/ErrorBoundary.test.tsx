import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { testBackend } from "../test/backend";
import { renderWith } from "../test/render";
import { ErrorBoundary } from "./ErrorBoundary";

function Broken(): never {
  throw new Error("render failed");
}

describe("error boundary", () => {
  it("replaces a screen that fails to render and offers the way back", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const onBack = vi.fn();
    renderWith(
      <div>
        <header>top bar</header>
        <ErrorBoundary resetKey="order" onBack={onBack}>
          <Broken />
        </ErrorBoundary>
      </div>,
      testBackend({}),
      "id",
    );
    expect(screen.getByText("top bar")).toBeTruthy();
    expect(screen.getByTestId("screen-error").textContent).toMatch(/tidak dapat ditampilkan/);
    await userEvent.setup().click(screen.getByRole("button", { name: "Kembali ke pesanan" }));
    expect(onBack).toHaveBeenCalled();
  });
});
