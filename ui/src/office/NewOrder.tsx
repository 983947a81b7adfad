import { useCallback } from "react";
import type { Currency } from "../bindings/Currency";
import type { NewOrder as NewOrderInput } from "../bindings/NewOrder";
import type { OrderPreview } from "../bindings/OrderPreview";
import type { PreviewInput } from "../bindings/PreviewInput";
import { OrderForm } from "../screens/NewOrder";
import { answer, useOffice, type OrderView } from "./api/client";

/** A new order taken at the office (a phone order, say): the counter's form, with the live
 *  preview and the create answered by the service. */
export function NewOrder(props: { currency: Currency; onCreated: (o: OrderView) => void }) {
  const client = useOffice();
  const preview = useCallback(
    async (input: PreviewInput): Promise<OrderPreview> => {
      const p = await answer(client.POST("/offline-orders/preview", { body: input }));
      // the same JSON; the API document leaves an absent SKU out where the counter's type says null
      return { ...p, items: p.items.map((i) => ({ ...i, sku: i.sku ?? null })) };
    },
    [client],
  );
  const create = useCallback((order: NewOrderInput) => answer(client.POST("/offline-orders", { body: order })), [client]);
  return <OrderForm currency={props.currency} preview={preview} create={create} onCreated={props.onCreated} />;
}
