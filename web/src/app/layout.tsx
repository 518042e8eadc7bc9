import type { Metadata, Viewport } from "next";
import { connection } from "next/server";
import type { ReactNode } from "react";

import { TaskApiProvider } from "@/components/api-context";
import { readSettings } from "@/server/settings";

import "./globals.css";

export const metadata: Metadata = {
  title: "Tasks",
  description: "The reference web app of taskapi.",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Read at request time, so that one build runs against any API.
  await connection();
  const { taskApiUrl } = readSettings();
  return (
    <html lang="en">
      <body>
        <TaskApiProvider baseUrl={taskApiUrl}>{children}</TaskApiProvider>
      </body>
    </html>
  );
}
